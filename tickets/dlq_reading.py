"""Reading ``tickets.dlq`` for an operator: every dead letter up to the end, or those at given offsets.

Reading stops at the end of what is there, without trusting the broker's end offsets alone: a
partition is done when the consumer's position has reached the end offset seen when it started
*and* a poll has returned nothing for ``idle_s``. (The test broker's high watermark is the start
of the last batch + 1, short of the real end, so the quiet poll decides there; on Apache Kafka
the end offset keeps a slow fetch from being taken for the end.) Partitions are read one after
the other, each in offset order, so a listing is the same every time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import msgpack
from kafka import KafkaConsumer, TopicPartition

from tickets.cli_errors import Failure
from tickets.consumers.dead_letters import decode_dead_letter
from tickets.consumers.kafka_settings import Headers
from tickets.domain.errors import ValidationError

#: The fields every dead letter has (docs/envelope.md, "Dead letters on tickets.dlq").
REQUIRED = ("reason", "group", "topic", "partition", "offset", "parked", "value_truncated")


@dataclass(frozen=True)
class Letter:
    """One record of ``tickets.dlq``: where it is, and its dead-letter map (None if it is not one)."""

    partition: int
    offset: int
    fields: Mapping[str, Any] | None
    headers: Headers

    @classmethod
    def of(cls, record: Any) -> Letter:
        return cls(record.partition, record.offset, _decoded(record.value), list(record.headers or ()))

    @property
    def where(self) -> str:
        return f"{self.partition}:{self.offset}"

    def summary(self) -> dict[str, Any]:
        """What an operator sees of it: where, whence, why, how big; none of the record's bytes."""
        head: dict[str, Any] = {"dlq_partition": self.partition, "dlq_offset": self.offset}
        f = self.fields
        if f is None:
            return head | {"readable": False}
        return head | {
            "readable": True, "group": f["group"], "topic": f["topic"], "partition": f["partition"],
            "offset": f["offset"], "reason": f["reason"], "parked": bool(f["parked"]),
            "truncated": bool(f["value_truncated"] or f.get("key_truncated")),
            "key_size": f.get("key_size"), "value_size": f.get("value_size"),
            "kept_bytes": len(f.get("value") or b""), "headers_dropped": f.get("headers_dropped", 0),
            "attempts": f.get("attempts"), "timestamp_ms": f.get("timestamp_ms"),
        }


def _decoded(value: bytes | None) -> Mapping[str, Any] | None:
    try:
        fields = decode_dead_letter(value or b"")
    except (ValueError, TypeError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError):
        return None
    if not isinstance(fields, dict) or any(name not in fields for name in REQUIRED):
        return None
    return fields


def _partitions(consumer: KafkaConsumer, topic: str) -> list[int]:
    found = consumer.partitions_for_topic(topic)
    if not found:
        raise ValidationError(f"the topic {topic} does not exist on the brokers",
                              field="TICKETS_KAFKA_TOPIC_PREFIX", rule="topic_exists")
    return sorted(found)


#: Give up when a partition's records stop coming this long short of its end offset.
STALL_S = 30.0


def read_all(consumer: KafkaConsumer, topic: str, idle_s: float = 1.0) -> Iterator[Letter]:
    """Every record of ``topic`` from the beginning to the end of what is there (see above)."""
    for partition in _partitions(consumer, topic):
        where = TopicPartition(topic, partition)
        consumer.assign([where])
        consumer.seek_to_beginning(where)
        end = consumer.end_offsets([where]).get(where, 0)  # a lower bound of the end, at best
        quiet_since = time.monotonic()
        while consumer.position(where) < end or time.monotonic() - quiet_since < idle_s:
            records = consumer.poll(timeout_ms=100).get(where, [])
            if records:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > STALL_S:
                raise Failure(f"{topic} partition {partition} stopped at offset "
                              f"{consumer.position(where)} before its end ({end})",
                              field="KAFKA_BOOTSTRAP_SERVERS", rule="broker")
            yield from (Letter.of(r) for r in records)


def read_at(consumer: KafkaConsumer, topic: str, partition: int, offsets: list[int],
            timeout_s: float) -> list[Letter]:
    """The records at ``offsets`` of ``partition``, in offset order; refused if one is not there."""
    if partition not in _partitions(consumer, topic):
        raise ValidationError(f"{topic} has no partition {partition}", field="partition",
                              rule="partition_exists")
    where = TopicPartition(topic, partition)
    consumer.assign([where])
    letters = []
    for offset in sorted(set(offsets)):
        consumer.seek(where, offset)
        record = _first_record(consumer, where, timeout_s)
        if record is None or record.offset != offset:
            raise ValidationError(f"no record at {topic} {partition}:{offset}", field="offset",
                                  rule="dead_letter_exists")
        letters.append(Letter.of(record))
    return letters


def _first_record(consumer: KafkaConsumer, where: TopicPartition, timeout_s: float) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        records = consumer.poll(timeout_ms=100, max_records=1).get(where, [])
        if records:
            return records[0]
    return None
