"""Poison on tickets.events never stops a consumer group: large records, envelopes breaking the schema,
dead letters the broker refuses. Each poison is findable on tickets.dlq with its reason and location,
the later events are applied once, and the read models equal a rebuild from the store."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Any

import msgpack
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka_helpers import (
    FAST,
    InThread,
    count,
    create_topics,
    environment,
    new_desk,
    projection_rows,
    rebuild,
    settings_of,
    wait_until,
)
from prometheus_client import REGISTRY

from tests.servers import KafkaEndpoint, PostgresAccess, PostgresDatabase
from tickets import metrics
from tickets.application.desk import TicketDesk
from tickets.consumers import dead_letter_replay
from tickets.consumers.dead_letters import decode_dead_letter
from tickets.consumers.kafka_runner import GroupRunner
from tickets.consumers.store_reader import StoreReader
from tickets.kafka_wiring import build_consumer, build_publisher, desk_ids, kafka_settings, select_projections
from tickets.projections.readstore import ReadStore
from tickets.sample_lives import write_lives
from tickets.wire.envelope import chained_hash
from tickets.wiring import build_catalogue

pytestmark = pytest.mark.integration

#: Sizes around and above 1 MiB (1,048,450 is one a default Apache Kafka broker accepts).
LARGE = [1_048_000, 1_048_450, 1_100_000, 5_000_000]
HASHED = ("ticket_id", "ticket_number", "desk", "type", "version", "occurred_at", "recorded_at",
          "actor", "channel", "payload")
#: One broken field at a time, each with its hash recomputed where it can be (so only the schema
#: can refuse it): the issue's null number, integer actor and unknown desk among them.
BROKEN: list[tuple[str, Any]] = [
    ("ticket_id", "not-a-uuid"), ("ticket_number", None), ("desk", "nosuch"), ("type", "Deleted"),
    ("version", 0), ("schema", 2), ("occurred_at", "2026-03-02"), ("recorded_at", 5),
    ("position", -1), ("actor", 42), ("channel", "pigeon"), ("payload", {}),
    ("payload.severity", 3), ("prev_hash", "x" * 64), ("hash", None), ("missing", "desk"),
    ("ticket_number", "VIA-\x00"), ("payload.severity", "B\x00"),  # text PostgreSQL cannot store
]


def poison_bytes(size: int, seed: int) -> bytes:
    return b"\xc1" + random.Random(seed).randbytes(size - 1)  # 0xc1 is never msgpack


def broken_envelopes(desk: TicketDesk) -> list[dict[str, Any]]:
    """Real envelopes of the store, one field broken in each, hash recomputed (a payload field is
    broken in the first, an ``Opened``)."""
    real = [e.as_map() for e in StoreReader(desk).read(0, 3)]
    assert real[0]["type"] == "Opened"
    broken = []
    for n, (name, value) in enumerate(BROKEN):
        fields = dict(real[0] if name.startswith("payload.") else real[n % len(real)])
        if name == "missing":
            fields.pop(value)
        elif name.startswith("payload."):
            fields["payload"] = {**fields["payload"], name.removeprefix("payload."): value}
        else:
            fields[name] = value
        if name not in ("hash", "prev_hash", "missing"):
            fields["hash"] = chained_hash(fields["prev_hash"], {k: fields[k] for k in HASHED})
        broken.append(fields)
    return broken


def send_raw(kafka: KafkaEndpoint, topic: str, values: list[bytes], key: bytes | None = None) -> list[Any]:
    """Send as any client could (a size limit of the producer's own far above them)."""
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap_servers, max_request_size=8_000_000)
    futures = [producer.send(topic, key=key, value=v, headers=[("type", b"Opened")]) for v in values]
    producer.flush()
    sent = [f.get(30) for f in futures]
    producer.close()
    return sent


def dlq_records(kafka: KafkaEndpoint, topic: str, at_least: int, timeout: float = 30) -> list[Any]:
    consumer = KafkaConsumer(bootstrap_servers=kafka.bootstrap_servers, fetch_max_wait_ms=20,
                             enable_auto_commit=False)
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        consumer.assign([TopicPartition(topic, p) for p in partitions])
        consumer.seek_to_beginning()
        found: list[Any] = []
        wait_until(lambda: (found.extend(r for rs in consumer.poll(timeout_ms=200).values() for r in rs)
                            or len(found) >= at_least), timeout, f"{at_least} dead letters")
        for records in consumer.poll(timeout_ms=500).values():  # and nothing more
            found += records
        return found
    finally:
        consumer.close()


def record_size(record: Any) -> int:
    return (len(record.key or b"") + len(record.value)
            + sum(len(n.encode()) + len(v) for n, v in record.headers))


def check_findable(letters: list[Any], sent: list[Any], originals: list[bytes]) -> list[dict[str, Any]]:
    """Each poison has exactly one dead letter naming where it was, its size and digest."""
    found = []
    for meta, original in zip(sent, originals, strict=True):
        mine = [decode_dead_letter(r.value) for r in letters
                if (decode_dead_letter(r.value)["partition"], decode_dead_letter(r.value)["offset"])
                == (meta.partition, meta.offset)]
        assert len(mine) == 1, f"poison at {meta.partition}:{meta.offset} has {len(mine)} dead letters"
        letter = mine[0]
        assert letter["reason"] and letter["topic"] == meta.topic
        assert letter["value_size"] == len(original)
        assert letter["value_sha256"] == hashlib.sha256(original).hexdigest()
        assert original.startswith(letter["value"])
        found.append(letter)
    return found


def test_large_and_schema_breaking_records_go_to_the_dlq_and_the_group_goes_on(
    pg_database: PostgresDatabase, postgres_server: PostgresAccess, kafka_broker: KafkaEndpoint,
    kafka_topic_prefix: str, tmp_path: Path,
) -> None:
    settings = settings_of(environment(pg_database.dsn, pg_database.dsn, kafka_broker,
                                       kafka_topic_prefix, str(tmp_path)))
    create_topics(kafka_broker, kafka_topic_prefix)
    events, dlq = kafka_topic_prefix + "tickets.events", kafka_topic_prefix + "tickets.dlq"
    desk = new_desk(settings)
    written = write_lives(desk, 4, interleave=2)
    broken = broken_envelopes(desk)
    big_map = {**broken[9], "payload": {**broken[9]["payload"], "notes": "n" * 1_100_000}}  # int actor
    originals = ([poison_bytes(size, n) for n, size in enumerate(LARGE)]
                 + [msgpack.packb(b, use_bin_type=True) for b in [*broken, big_map]])
    sent = send_raw(kafka_broker, events, originals, key=b"672e4940-4dd6-5bcf-8cb4-9ae0f13981d7")
    store = ReadStore(pg_database.dsn)
    publisher = InThread(build_publisher(settings))
    consumer = InThread(build_consumer(settings, "projections", **FAST))
    try:
        wait_until(lambda: count(store, "audit_trail") == written, 90, "the events after the poison")
        wait_until(lambda: consumer.member.stats.dead_letters == len(originals), 30, "every dead letter")
    finally:
        consumer.halt()
    assert consumer.member.stats.parked == 0
    letters = dlq_records(kafka_broker, dlq, len(originals))
    assert len(letters) == len(originals)
    assert all(record_size(r) <= 1_000_000 for r in letters)
    found = check_findable(letters, sent, originals)
    assert [f["value_truncated"] for f in found[:4]] == [True, True, True, True]
    schema_reasons = [f["reason"] for f in found[4:4 + len(BROKEN)]]
    for (name, _), reason in zip(BROKEN, schema_reasons, strict=True):
        field = {"missing": "missing fields", "schema": "schema", "payload.severity": "payload.severity",
                 "payload": "payload."}.get(name, name)
        assert field in reason, (name, reason)
    assert "actor" in found[-1]["reason"] and found[-1]["value_truncated"]
    # A member started again begins after the poison: no dead letter twice, later events applied once.
    later = write_lives(desk, 1, first=10)
    desk.close()
    again = InThread(build_consumer(settings, "projections", **FAST))
    try:
        wait_until(lambda: count(store, "audit_trail") == written + later, 60, "the later events")
    finally:
        again.halt()
        publisher.halt()
    assert again.member.stats.dead_letters == 0
    projections = select_projections(settings)
    assert projection_rows(store, projections) == rebuild(settings, postgres_server.create_schema().dsn)
    store.close()


def test_a_dead_letter_the_broker_refuses_is_parked_and_the_group_goes_on(
    pg_database: PostgresDatabase, kafka_broker: KafkaEndpoint, kafka_topic_prefix: str,
    tmp_path: Path,
) -> None:
    """The producer's own limit stands for a broker with a smaller ``max.message.bytes``."""
    settings = settings_of(environment(pg_database.dsn, pg_database.dsn, kafka_broker,
                                       kafka_topic_prefix, str(tmp_path)))
    create_topics(kafka_broker, kafka_topic_prefix)
    events, dlq = kafka_topic_prefix + "tickets.events", kafka_topic_prefix + "tickets.dlq"
    desk = new_desk(settings)
    written = write_lives(desk, 3)
    desk.close()
    originals = [poison_bytes(100_000, 1), poison_bytes(600_000, 2), poison_bytes(5_000_000, 3),
                 poison_bytes(50, 4)]
    sent = send_raw(kafka_broker, events, originals)
    store = ReadStore(pg_database.dsn)
    runner = GroupRunner(kafka_settings(settings, **FAST, retry_backoff_s=0.05), "projections", store,
                         select_projections(settings), producer_overrides={"max_request_size": 300_000},
                         desks=desk_ids(build_catalogue(settings)), on_parked=metrics.record_parked)
    parked_before = REGISTRY.get_sample_value("tickets_records_parked_total",
                                              {"group": runner.group_id}) or 0.0
    publisher = InThread(build_publisher(settings))
    consumer = InThread(runner)
    try:
        wait_until(lambda: count(store, "audit_trail") == written, 90, "the events after the poison")
        wait_until(lambda: runner.stats.dead_letters == len(originals), 30, "every dead letter")
    finally:
        consumer.halt()
        publisher.halt()
    assert runner.stats.parked == 2
    assert REGISTRY.get_sample_value("tickets_records_parked_total",
                                     {"group": runner.group_id}) == parked_before + 2
    letters = dlq_records(kafka_broker, dlq, len(originals))
    found = check_findable(letters, sent, originals)
    assert [f["parked"] for f in found] == [False, True, True, False]
    for parked in (found[1], found[2]):
        assert parked["value"] == b"" and parked["attempts"] == 4 and parked["value_truncated"]
    assert found[0]["value"] == originals[0]  # it fitted: kept whole
    store.close()


def test_dead_letters_replayed_after_the_cause_is_fixed_are_applied_once(
    pg_database: PostgresDatabase, postgres_server: PostgresAccess, kafka_broker: KafkaEndpoint,
    kafka_topic_prefix: str, tmp_path: Path,
) -> None:
    """A member that did not know a desk yet dead-letters its events; once it knows it, the
    operator replays them from tickets.dlq and the read models equal a rebuild."""
    settings = settings_of(environment(pg_database.dsn, pg_database.dsn, kafka_broker,
                                       kafka_topic_prefix, str(tmp_path)))
    create_topics(kafka_broker, kafka_topic_prefix)
    dlq = kafka_topic_prefix + "tickets.dlq"
    desk = new_desk(settings)
    written = write_lives(desk, 4, interleave=2)
    envelopes = list(StoreReader(desk).read(0, written))
    desk.close()
    unknown = envelopes[0].desk
    held_back = sum(1 for e in envelopes if e.desk == unknown)
    store = ReadStore(pg_database.dsn)
    publisher = InThread(build_publisher(settings))
    kafka = kafka_settings(settings, **FAST)
    runner = GroupRunner(kafka, "projections", store, select_projections(settings),
                         desks=desk_ids(build_catalogue(settings)) - {unknown})
    consumer = InThread(runner)
    try:
        wait_until(lambda: runner.stats.dead_letters == held_back
                   and count(store, "audit_trail") == written - held_back, 90, "the other desks' events")
    finally:
        consumer.halt()
    letters = dlq_records(kafka_broker, dlq, held_back)
    assert all(f"desk {unknown!r} is not a desk" in decode_dead_letter(r.value)["reason"] for r in letters)
    reader = KafkaConsumer(bootstrap_servers=kafka_broker.bootstrap_servers, enable_auto_commit=False)
    producer = KafkaProducer(**kafka.producer_config())
    for record in sorted(letters, key=lambda r: (r.partition, r.offset)):
        found = dead_letter_replay.original(decode_dead_letter(record.value), list(record.headers), reader)
        dead_letter_replay.replay(producer, found)
    producer.close()
    reader.close()
    fixed = InThread(build_consumer(settings, "projections", **FAST))
    try:
        wait_until(lambda: count(store, "audit_trail") == written, 60, "the replayed events")
    finally:
        fixed.halt()
        publisher.halt()
    assert fixed.member.stats.dead_letters == 0
    projections = select_projections(settings)
    assert projection_rows(store, projections) == rebuild(settings, postgres_server.create_schema().dsn)
    store.close()
