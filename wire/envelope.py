"""The event envelope: one msgpack map per event, readable from any language.

Times are ISO 8601 strings in UTC with microseconds and ``Z``; ids are canonical UUID strings;
``payload`` holds the event's own fields (times in it formatted the same way). ``hash`` chains
each ticket's events: ``sha256(prev_hash || canonical JSON of the event)``, with 64 zeros as the
first ``prev_hash``. See docs/envelope.md.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Container, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property, lru_cache
from typing import Any
from uuid import UUID

import msgpack

from tickets.domain.history import HistoryEntry
from tickets.wire.envelope_schema import SCHEMA as SCHEMA
from tickets.wire.envelope_schema import EnvelopeError as EnvelopeError
from tickets.wire.envelope_schema import checked
from tickets.wire.envelope_schema import parse_time as parse_time

CONTENT_TYPE = "application/msgpack; schema=ticket-event-v1"
GENESIS = "0" * 64
#: The top-level keys every envelope has; a decoder refuses a map without them.
FIELDS = (
    "ticket_id", "ticket_number", "desk", "type", "version", "schema", "occurred_at",
    "recorded_at", "position", "actor", "channel", "payload", "prev_hash", "hash",
)


@lru_cache(maxsize=1 << 16)
def format_time(value: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC (cached: the same instants recur in every batch)."""
    if value.tzinfo is None:
        raise ValueError("times in envelopes must be aware")
    if value.utcoffset():
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def iso_wire_time(iso: str) -> str:
    """``format_time(datetime.fromisoformat(iso))``, by slicing the text for times in UTC.

    The event store keeps times as ``isoformat()`` text, which leaves out a zero microsecond part;
    readers that go straight from stored JSON to envelopes turn them into wire text with this.
    """
    if iso.endswith("+00:00"):
        if len(iso) == 32:
            return iso[:26] + "Z"
        if len(iso) == 25:
            return iso[:19] + ".000000Z"
    return format_time(datetime.fromisoformat(iso))


_PLAIN = (str, int, float, bool, type(None))


def wire_value(value: Any) -> Any:
    """Payload values as they travel: times as text, ids as text, maps and lists as such."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): wire_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [wire_value(v) for v in value]
    return value


class RecordedTimes:
    """``occurred`` and ``recorded`` as datetimes, for anything carrying them as wire text."""

    occurred_at: str
    recorded_at: str

    @property
    def occurred(self) -> datetime:
        return parse_time(self.occurred_at)

    @property
    def recorded(self) -> datetime:
        return parse_time(self.recorded_at)


@dataclass(frozen=True)
class Envelope(RecordedTimes):
    ticket_id: str
    ticket_number: str
    desk: str
    type: str
    version: int
    occurred_at: str
    recorded_at: str
    position: int
    actor: str
    channel: str
    payload: Mapping[str, Any]
    prev_hash: str
    hash: str
    schema: int = SCHEMA

    def as_map(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in FIELDS}

    def encode(self) -> bytes:
        return msgpack.packb(self.as_map(), use_bin_type=True)

    @cached_property
    def history_entry(self) -> HistoryEntry:
        """The history entry the domain's pure code reads (payload times stay text)."""
        return self.entry()

    def entry(self) -> HistoryEntry:
        """A new history entry for this envelope; ``history_entry`` is the cached one."""
        return HistoryEntry(
            ticket_id=UUID(self.ticket_id), version=self.version, type=self.type,
            occurred_at=self.occurred, recorded_at=self.recorded, actor=self.actor,
            channel=self.channel, payload=self.payload,
        )


#: ``json.dumps(..., sort_keys=True, separators=(",", ":"), ensure_ascii=False)``, built once.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def chained_hash(prev_hash: str, content: Mapping[str, Any]) -> str:
    canonical = _CANONICAL(content)
    return hashlib.sha256(prev_hash.encode("ascii") + canonical.encode("utf-8")).hexdigest()


def hashed_content(entry: HistoryEntry, number: str, desk: str) -> dict[str, Any]:
    """What the hash covers: everything about the event except its transport position."""
    return {
        "ticket_id": str(entry.ticket_id), "ticket_number": number, "desk": desk,
        "type": entry.type, "version": entry.version,
        "occurred_at": format_time(entry.occurred_at),
        "recorded_at": format_time(entry.recorded_at), "actor": entry.actor,
        "channel": entry.channel, "payload": wire_value(entry.payload),
    }


def seal(entry: HistoryEntry, *, number: str, desk: str, position: int, prev_hash: str) -> Envelope:
    """The envelope of ``entry``, with its ``history_entry`` already in place.

    That cached entry is exactly what ``Envelope.entry()`` would build from the envelope's fields
    (the id the entry already holds, times parsed back from their wire text): setting it here
    saves every projection of the embedded feed parsing the id again.
    """
    content = hashed_content(entry, number, desk)
    envelope = Envelope(
        ticket_id=content["ticket_id"], ticket_number=number, desk=desk, type=entry.type,
        version=entry.version, occurred_at=content["occurred_at"],
        recorded_at=content["recorded_at"], position=position, actor=entry.actor,
        channel=entry.channel, payload=content["payload"], prev_hash=prev_hash,
        hash=chained_hash(prev_hash, content),
    )
    ticket_id = entry.ticket_id if type(entry.ticket_id) is UUID else UUID(envelope.ticket_id)
    envelope.__dict__["history_entry"] = HistoryEntry(
        ticket_id=ticket_id, version=envelope.version, type=envelope.type,
        occurred_at=envelope.occurred, recorded_at=envelope.recorded, actor=envelope.actor,
        channel=envelope.channel, payload=envelope.payload,
    )
    return envelope


def _unpacked_map(data: bytes) -> dict[Any, Any]:
    """The msgpack map ``data`` holds, or ``EnvelopeError`` saying why not."""
    try:
        raw = msgpack.unpackb(data, raw=False)
    except Exception as error:  # msgpack raises several unrelated types
        raise EnvelopeError(f"not msgpack: {type(error).__name__}: {error}") from None
    if not isinstance(raw, dict):
        raise EnvelopeError(f"expected a map, got {type(raw).__name__}")
    return raw


def _values(data: bytes) -> dict[str, Any]:
    """The envelope's fields from ``data`` (fields it does not know are left out)."""
    raw = _unpacked_map(data)
    try:
        return {name: raw[name] for name in FIELDS}
    except KeyError:
        missing = [name for name in FIELDS if name not in raw]
        raise EnvelopeError(f"missing fields: {', '.join(missing)}") from None


def decode(data: bytes, desks: Container[str] | None = None) -> Envelope:
    """Decode and check an envelope against its schema (``projections.envelope_schema``); anything
    else raises ``EnvelopeError`` with the reason. ``desks``: the desks a consumer knows.

    The one decoding path, for every reader of the wire. The envelope comes with its
    ``history_entry`` in place, made from the id and the times the checks already parsed, so a
    consumer that folds every envelope parses the id once instead of twice; it is built without
    the frozen dataclass's field-by-field ``__init__`` (the fields are the same ones, checked).
    """
    values = _values(data)
    ticket_id, occurred, recorded = checked(values, desks)
    envelope: Envelope = object.__new__(Envelope)
    envelope.__dict__.update(values)
    envelope.__dict__["history_entry"] = HistoryEntry(
        ticket_id=ticket_id, version=values["version"], type=values["type"], occurred_at=occurred,
        recorded_at=recorded, actor=values["actor"], channel=values["channel"],
        payload=values["payload"],
    )
    return envelope

