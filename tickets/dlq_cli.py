"""``tickets dlq list`` and ``tickets dlq replay``: find the dead letters, and replay them once fixed.

``list`` reads ``tickets.dlq`` from the beginning to the end of what is there and prints one line
(or map) per dead letter: where it is on ``tickets.dlq`` (``PARTITION:OFFSET``), where its original
was, the group that wrote it, the reason, sizes, and whether it is parked or truncated. Never a
byte of the record itself: records hold personal data.

``replay --partition P --offset O [--offset O ...]`` replays the dead letters at those offsets of
one ``tickets.dlq`` partition, in offset order (a ticket's letters share a partition, so that
is their order), through ``consumers.dead_letter_replay``: each original is fetched and checked
against its letter's digests first, and only when every one can be had is anything sent. One that
cannot (gone from its topic, not matching the digest, not a dead letter) is refused in one line
naming its offset and the rule, and nothing is sent. See docs/kafka.md, "Dead letters".
"""

from __future__ import annotations

import argparse
from typing import Any

import structlog
from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError

from tickets.cli_errors import Failure
from tickets.cli_lazy import Handler
from tickets.config import Settings
from tickets.consumers import dead_letter_replay
from tickets.consumers.dead_letter_replay import Original, ReplayError
from tickets.consumers.kafka_settings import KafkaSettings
from tickets.dlq_reading import Letter, read_all, read_at
from tickets.domain.errors import ValidationError
from tickets.kafka_cli import require_kafka

log = structlog.get_logger("tickets.dlq")

def _kafka(settings: Settings) -> KafkaSettings:
    require_kafka(settings)
    return KafkaSettings.of(settings)


def _reader(kafka: KafkaSettings) -> KafkaConsumer:
    return KafkaConsumer(**kafka.consumer_config(None))


def _wanted(letter: Letter, group: str | None, parked: bool, reason: str | None) -> bool:
    fields = letter.fields
    if fields is None:  # not a dead letter: shown only when nothing is asked of it
        return group is None and not parked and reason is None
    return ((group is None or fields["group"] == group) and (not parked or bool(fields["parked"]))
            and (reason is None or reason.casefold() in str(fields["reason"]).casefold()))


def _line(row: dict[str, Any]) -> str:
    where = f"{row['dlq_partition']}:{row['dlq_offset']}"
    if not row["readable"]:
        return f"{where:<12} (not a dead letter)"
    flags = " ".join(name for name in ("parked", "truncated") if row[name]) or "whole"
    return (f"{where:<12} {row['topic']} {row['partition']}:{row['offset']}  group={row['group']}  "
            f"value={row['value_size']}B kept={row['kept_bytes']}B  {flags}  reason={row['reason']}")


def cmd_list(args: argparse.Namespace, settings: Settings) -> Any:
    kafka = _kafka(settings)
    group = None if args.group is None else kafka.topic_prefix + args.group
    rows: list[dict[str, Any]] = []
    reader = _reader(kafka)
    try:
        for letter in read_all(reader, kafka.topics.dlq):
            if _wanted(letter, group, args.parked, args.reason):
                rows.append(letter.summary())
                if args.limit is not None and len(rows) >= args.limit:
                    break
    finally:
        reader.close()
    if args.json:
        return rows
    return "\n".join(_line(r) for r in rows) or f"(no dead letters on {kafka.topics.dlq})"


def _original(letter: Letter, dlq: str, reader: KafkaConsumer, timeout_s: float) -> Original:
    """The letter's original, read again and checked; refused naming the letter's offset."""
    name = f"the dead letter at {dlq} {letter.where}"
    if letter.fields is None:
        raise ValidationError(f"{name} is not a dead letter", field="offset", rule="dead_letter")
    try:
        return dead_letter_replay.original(letter.fields, letter.headers, reader,
                                           timeout_ms=int(timeout_s * 1000))
    except ReplayError as error:
        raise ValidationError(f"{name} cannot be replayed: {error}", field="offset",
                              rule=error.rule) from None


def _row(letter: Letter, found: Original, sent: Any) -> dict[str, Any]:
    return {"dlq_partition": letter.partition, "dlq_offset": letter.offset, "topic": found.topic,
            "from": {"partition": found.partition, "offset": found.offset},
            "sent": None if sent is None else {"partition": sent.partition, "offset": sent.offset},
            "key_size": len(found.key or b""), "value_size": len(found.value or b"")}


def _send(kafka: KafkaSettings, plan: list[tuple[Letter, Original]]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    producer = KafkaProducer(**kafka.producer_config())  # the ticket partitioner, as the publisher
    try:
        for letter, found in plan:
            try:
                sent = dead_letter_replay.replay(producer, found)
            except KafkaError as error:
                done = ", ".join(f"{r['dlq_partition']}:{r['dlq_offset']}" for r in rows) or "none"
                raise Failure(f"replaying the dead letter at {letter.where} failed "
                              f"({type(error).__name__}); replayed before it: {done}",
                              field="KAFKA_BOOTSTRAP_SERVERS", rule="broker") from None
            log.info("dead_letter_replayed", dlq_partition=letter.partition, dlq_offset=letter.offset,
                     topic=found.topic, partition=sent.partition, offset=sent.offset)
            rows.append(_row(letter, found, sent))
    finally:
        producer.close()
    return rows


def cmd_replay(args: argparse.Namespace, settings: Settings) -> Any:
    kafka = _kafka(settings)
    dlq = kafka.topics.dlq
    reader = _reader(kafka)
    try:
        letters = read_at(reader, dlq, args.partition, args.offset, args.timeout)
        plan = [(letter, _original(letter, dlq, reader, args.timeout)) for letter in letters]
    finally:
        reader.close()
    rows = [_row(letter, found, None) for letter, found in plan] if args.dry_run else _send(kafka, plan)
    if args.json:
        return rows
    verb = "would replay" if args.dry_run else "replayed"
    return "\n".join(
        f"{verb} {r['dlq_partition']}:{r['dlq_offset']} -> {r['topic']}"
        + ("" if r["sent"] is None else f" {r['sent']['partition']}:{r['sent']['offset']}")
        + f"  (was {r['from']['partition']}:{r['from']['offset']}, {r['value_size']} bytes)"
        for r in rows)


SUBCOMMANDS: dict[str, Handler] = {"list": cmd_list, "replay": cmd_replay}


def cmd_dlq(args: argparse.Namespace, settings: Settings) -> Any:
    return SUBCOMMANDS[args.dlq](args, settings)


