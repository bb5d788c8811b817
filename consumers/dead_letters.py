"""Dead letters: records a consumer cannot decode, sent to ``tickets.dlq`` with the reason.

The value is a msgpack map (docs/envelope.md, "Dead letters"): ``reason``, ``group``, ``topic``,
``partition``, ``offset``, ``timestamp_ms`` and the original ``key`` and ``value`` bytes untouched,
so the record can be inspected and replayed. The original headers are kept, and ``dlq-reason`` and
``content-type`` are added. The key stays the original key, so one ticket's dead letters keep
their order on ``tickets.dlq`` too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgpack

from consumers.kafka_settings import CONTENT_TYPE_HEADER, DEAD_LETTER_CONTENT_TYPE, Headers

REASON_HEADER = "dlq-reason"


@dataclass(frozen=True)
class DeadLetter:
    """One record that could not be used, where it came from, and why."""

    reason: str
    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None
    key: bytes | None
    value: bytes | None
    headers: Headers

    @classmethod
    def of(cls, record: Any, reason: str) -> DeadLetter:
        """From a kafka-python ``ConsumerRecord``."""
        return cls(reason=reason, topic=record.topic, partition=record.partition,
                   offset=record.offset, timestamp_ms=record.timestamp, key=record.key,
                   value=record.value, headers=list(record.headers or ()))

    def value_bytes(self, group_id: str) -> bytes:
        return msgpack.packb({
            "reason": self.reason, "group": group_id, "topic": self.topic,
            "partition": self.partition, "offset": self.offset, "timestamp_ms": self.timestamp_ms,
            "key": self.key, "value": self.value,
        }, use_bin_type=True)

    def dlq_headers(self) -> Headers:
        kept = [(k, v) for k, v in self.headers if k not in (CONTENT_TYPE_HEADER, REASON_HEADER)]
        return [*kept, (CONTENT_TYPE_HEADER, DEAD_LETTER_CONTENT_TYPE.encode("ascii")),
                (REASON_HEADER, self.reason.encode("utf-8")[:1000])]


def decode_dead_letter(value: bytes) -> dict[str, Any]:
    """The dead letter's map (for tools and tests)."""
    result: dict[str, Any] = msgpack.unpackb(value, raw=False)
    return result
