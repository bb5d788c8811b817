"""Dead letters: records a consumer cannot use, sent to ``tickets.dlq`` with the reason.

The value is a msgpack map (docs/envelope.md, "Dead letters"): ``reason``, ``group``, ``topic``,
``partition``, ``offset``, ``timestamp_ms``, the original ``key`` and ``value`` bytes, and what
says whether they are whole: ``key_size``/``value_size`` (the original sizes), ``key_sha256``/
``value_sha256`` (their digests) and ``key_truncated``/``value_truncated``. The original headers
are kept (while they fit), ``headers_dropped`` counts those left out, and ``dlq-reason`` and
``content-type`` are added. The key stays the original key, so one ticket's dead letters keep
their order on ``tickets.dlq`` too.

A dead letter must always be writable, whatever the poison: one that cannot be written stops
the consumer on that record for good. So a dead letter never exceeds ``max_bytes`` (key, value and
headers together; ``KafkaSettings.dead_letter_max_bytes``, well under the producer's
``max_request_size``): the original bytes are kept whole when they fit, else their first bytes
are kept and the digest, size and location (topic, partition, offset) say what the rest was.
A *parked* dead letter (``parked`` true; ``consumers.parking``) keeps none of the original bytes:
it is the smallest record that still says where the poison is and what it was.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import msgpack

from tickets.consumers.kafka_settings import (
    CONTENT_TYPE_HEADER,
    DEAD_LETTER_CONTENT_TYPE,
    DEAD_LETTER_MIN_BYTES,
    Headers,
)

REASON_HEADER = "dlq-reason"
PARKED_HEADER = "dlq-parked"
#: Reasons are cut to this many characters in the value (and 1000 bytes in the header).
MAX_REASON = 1000
#: The original key is kept as the dead letter's key only up to this size (and a sixteenth of the
#: limit; a ticket's is 36 bytes).
MAX_KEY = 4096
#: Original headers are kept, in order, while together they take at most this many bytes (and an
#: eighth of the limit).
MAX_HEADERS = 64 * 1024
#: Room for the map's other fields, msgpack's framing and the record's own overhead.
FRAME = 16 * 1024
#: The default limit of a dead letter (``KafkaSettings.dead_letter_max_bytes``).
DEAD_LETTER_MAX_BYTES = 1_000_000


@dataclass(frozen=True)
class DeadLetterRecord:
    """What to send to ``tickets.dlq``: never more than the limit it was made for."""

    key: bytes | None
    value: bytes
    headers: Headers

    def size(self) -> int:
        return (len(self.key or b"") + len(self.value)
                + sum(len(name.encode("utf-8")) + len(value) for name, value in self.headers))


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

    def __post_init__(self) -> None:
        if len(self.reason) > MAX_REASON:  # a reason may quote what was sent: keep logs and letters small
            object.__setattr__(self, "reason", self.reason[:MAX_REASON])

    @classmethod
    def of(cls, record: Any, reason: str) -> DeadLetter:
        """From a kafka-python ``ConsumerRecord``."""
        return cls(reason=reason, topic=record.topic, partition=record.partition,
                   offset=record.offset, timestamp_ms=record.timestamp, key=record.key,
                   value=record.value, headers=list(record.headers or ()))

    def record(self, group_id: str, max_bytes: int = DEAD_LETTER_MAX_BYTES) -> DeadLetterRecord:
        """The dead letter to send, at most ``max_bytes``: what of the original fits, and digests."""
        if max_bytes < DEAD_LETTER_MIN_BYTES:
            raise ValueError(f"a dead letter needs at least {DEAD_LETTER_MIN_BYTES} bytes, not {max_bytes}")
        headers, dropped = self._headers(min(MAX_HEADERS, max_bytes // 8))
        key = self.key if self.key is not None and len(self.key) <= min(MAX_KEY, max_bytes // 16) else None
        room = (max_bytes - FRAME - len(key or b"")
                - sum(len(n.encode("utf-8")) + len(v) for n, v in headers))
        return DeadLetterRecord(key, self._value(group_id, room, dropped, parked=False), headers)

    def parked(self, group_id: str, attempts: int) -> DeadLetterRecord:
        """The smallest dead letter that still locates the record: none of its bytes, its digests,
        ``parked`` true and the attempts made; no original headers; the key only if a ticket's."""
        headers, dropped = self._headers(-1, parked=True)
        key = self.key if self.key is not None and len(self.key) <= 64 else None
        value = self._value(group_id, 0, dropped, parked=True, attempts=attempts)
        return DeadLetterRecord(key, value, headers)

    def _headers(self, room: int, *, parked: bool = False) -> tuple[Headers, int]:
        """The original headers that fit in ``room`` bytes, in order, then ours; and how many were
        left out."""
        kept: Headers = []
        for name, value in self.headers:
            if name in (CONTENT_TYPE_HEADER, REASON_HEADER, PARKED_HEADER):
                continue
            size = len(name.encode("utf-8")) + len(value)
            if size > room:
                break
            kept.append((name, value))
            room -= size
        ours: Headers = [(CONTENT_TYPE_HEADER, DEAD_LETTER_CONTENT_TYPE.encode("ascii")),
                         (REASON_HEADER, self.reason.encode("utf-8")[:MAX_REASON])]
        if parked:
            ours.append((PARKED_HEADER, b"true"))
        return [*kept, *ours], len(self.headers) - len(kept) - _ours_among(self.headers)

    def _value(self, group_id: str, room: int, headers_dropped: int, *, parked: bool,
               attempts: int | None = None) -> bytes:
        key_kept = None if self.key is None else self.key[:max(0, min(MAX_KEY, room))]
        room -= len(key_kept or b"")
        value_kept = None if self.value is None else self.value[:max(0, room)]
        letter: dict[str, Any] = {
            "reason": self.reason, "group": group_id[:MAX_REASON],
            "topic": self.topic[:MAX_REASON], "partition": self.partition, "offset": self.offset,
            "timestamp_ms": self.timestamp_ms, "parked": parked,
            **_bytes_fields("key", self.key, key_kept), **_bytes_fields("value", self.value, value_kept),
            "headers_dropped": headers_dropped,
        }
        if attempts is not None:
            letter["attempts"] = attempts
        return bytes(msgpack.packb(letter, use_bin_type=True))


def _ours_among(headers: Headers) -> int:
    return sum(1 for name, _ in headers if name in (CONTENT_TYPE_HEADER, REASON_HEADER, PARKED_HEADER))


def _bytes_fields(name: str, original: bytes | None, kept: bytes | None) -> dict[str, Any]:
    """``name`` (what is kept), ``name_size``, ``name_sha256`` (nil for nil) and ``name_truncated``."""
    if original is None:
        return {name: None, f"{name}_size": None, f"{name}_sha256": None, f"{name}_truncated": False}
    return {name: kept, f"{name}_size": len(original),
            f"{name}_sha256": hashlib.sha256(original).hexdigest(),
            f"{name}_truncated": len(kept or b"") < len(original)}


def decode_dead_letter(value: bytes) -> dict[str, Any]:
    """The dead letter's map (for tools and tests)."""
    result: dict[str, Any] = msgpack.unpackb(value, raw=False)
    return result
