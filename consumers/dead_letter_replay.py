"""Replaying a dead letter once its cause is fixed: its original record, checked, sent again.

A dead letter keeps the original bytes whole when they fit; a truncated or parked one keeps only
their first bytes (or none), with the size, SHA-256 digest and location. ``original`` gives back
the original key, value and headers: read again from its topic at its partition and offset
(while the topic's retention keeps it), or from the letter itself when it is whole, and in both
cases checked against the letter's digests, so what is replayed is exactly what arrived.
``replay`` sends it again to its topic with its key and headers; the consumers then treat it as
any record (the version gate skips an event already applied; the intake answers a command
already applied from its receipt).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from tickets.consumers.dead_letters import PARKED_HEADER, REASON_HEADER
from tickets.consumers.kafka_settings import CONTENT_TYPE_HEADER, Headers


class ReplayError(ValueError):
    """The original cannot be had as it was: gone from its topic, or not matching the digest.
    ``rule`` says which (``original_gone``, ``digest_mismatch``, ``letter_not_whole``)."""

    def __init__(self, message: str, rule: str) -> None:
        super().__init__(message)
        self.rule = rule


@dataclass(frozen=True)
class Original:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers


def original(letter: Mapping[str, Any], dlq_headers: Headers, consumer: KafkaConsumer | None = None,
             timeout_ms: int = 10_000) -> Original:
    """The original record of ``letter`` (a decoded dead letter and the dead letter's headers);
    ``consumer`` (no group, ``enable_auto_commit=False``) reads it again when the letter is not
    whole."""
    whole = (not letter["value_truncated"] and not letter.get("key_truncated")
             and not letter["parked"] and not letter.get("headers_dropped"))
    found: Original | None = None
    if consumer is not None:
        try:
            found = _read_again(consumer, letter, timeout_ms)
        except ReplayError:
            if not whole:
                raise
    if found is None:
        if not whole:
            raise ReplayError("the dead letter is not whole: give a consumer to read the original again",
                              "letter_not_whole")
        found = _from_letter(letter, dlq_headers)
    _check(letter, found)
    return found


def _from_letter(letter: Mapping[str, Any], dlq_headers: Headers) -> Original:
    """The original as the whole dead letter holds it (its own ``content-type`` header, replaced by
    the dead letter's, is not kept)."""
    headers = [(n, v) for n, v in dlq_headers
               if n not in (REASON_HEADER, PARKED_HEADER, CONTENT_TYPE_HEADER)]
    return Original(letter["topic"], letter["partition"], letter["offset"], letter["key"],
                    letter["value"], headers)


def replay(producer: KafkaProducer, found: Original, topic: str | None = None) -> Any:
    """Send the original again (to ``topic``, by default its own) and wait for the broker."""
    future = producer.send(topic or found.topic, key=found.key, value=found.value,
                           headers=list(found.headers))
    producer.flush()
    return future.get(timeout=30)


def _read_again(consumer: KafkaConsumer, letter: Mapping[str, Any], timeout_ms: int) -> Original:
    where = TopicPartition(letter["topic"], letter["partition"])
    consumer.assign([where])
    consumer.seek(where, letter["offset"])
    for records in consumer.poll(timeout_ms=timeout_ms, max_records=1).values():
        for record in records:
            if record.offset == letter["offset"]:
                return Original(record.topic, record.partition, record.offset, record.key,
                                record.value, list(record.headers or ()))
    raise ReplayError(f"{letter['topic']}:{letter['partition']}:{letter['offset']} is no longer on "
                      "its topic (retention): only the dead letter's first bytes are left",
                      "original_gone")


def _check(letter: Mapping[str, Any], found: Original) -> None:
    for name, data in (("key", found.key), ("value", found.value)):
        digest = None if data is None else hashlib.sha256(data).hexdigest()
        if letter.get(f"{name}_sha256", digest) != digest:
            raise ReplayError(f"the record at {found.topic}:{found.partition}:{found.offset} is not "
                              f"the one the dead letter kept ({name} digest differs)", "digest_mismatch")
