"""Stored ticket events straight to their envelopes' bytes, for the publisher.

The publisher needs each event's msgpack envelope and nothing else: no ``Envelope`` object, no
history entry, no ``datetime``. This path decodes the stored JSON with the times left as text,
turns them into the envelope's wire form (``projections.envelope.iso_wire_time``: string slicing for
UTC), builds the hashed content and the envelope map once, and packs it. Each result is byte for
byte ``StoreReader``'s ``Envelope.encode()`` (tests hold them equal); anything the fast path does
not recognise (an older class version, a compressed or encrypted store, a transcoded type other
than times and ids) returns ``None`` and goes the ``StoreReader`` way.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import msgpack
from eventsourcing.persistence import Mapper, StoredEvent

from tickets.consumers.stored_entries import KNOWN, NeedsMapper
from tickets.wire.envelope import SCHEMA, chained_hash, iso_wire_time

_NOT_PAYLOAD = frozenset(
    {"timestamp", "occurred_at", "actor", "channel", "originator_topic", "class_version"}
)
_pack = msgpack.Packer(use_bin_type=True).pack


@dataclass(frozen=True, slots=True)
class SealedRecord:
    """One event as the publisher sends it, with what the chain cache keeps of it."""

    position: int
    ticket_id: UUID
    type: str
    version: int
    number: str
    desk: str
    value: bytes
    hash: str


def _wire_object(obj: dict[str, Any]) -> Any:
    kind = obj.get("_type_")
    if kind is None:
        return obj
    if kind == "datetime_iso":
        return iso_wire_time(obj["_data_"])
    if kind == "uuid_hex":
        return str(UUID(obj["_data_"]))
    raise NeedsMapper(kind)


_decode: Callable[[str], Any] = json.JSONDecoder(object_hook=_wire_object).decode


def _payload_of(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in state.items() if k not in _NOT_PAYLOAD}


#: ``head(ticket_id, version, payload)``: (number, desk, hash) of the ticket at ``version``.
ChainHead = Callable[[UUID, int, Any], tuple[str, str, str]]


def seal_record(
    stored: StoredEvent, mapper: Mapper[UUID], position: int, head: ChainHead,
) -> SealedRecord | None:
    """The sealed record of one stored ticket event, or ``None`` when the fast path cannot say.

    ``head(ticket_id, version - 1, payload)`` gives (number, desk, previous hash), as
    ``StoreReader`` does, so both paths share one chain cache.
    """
    known = KNOWN.get(stored.topic)
    if known is None or mapper.cipher is not None or mapper.compressor is not None:
        return None
    try:
        state = _decode(stored.state.decode("utf-8"))
    except NeedsMapper:
        return None
    if state.get("class_version", 1) != known[1]:
        return None
    ticket_id = stored.originator_id if isinstance(stored.originator_id, UUID) else UUID(stored.originator_id)
    version = stored.originator_version
    payload = _payload_of(state)
    number, desk, prev_hash = head(ticket_id, version - 1, payload)
    content = {
        "ticket_id": str(ticket_id), "ticket_number": number, "desk": desk, "type": known[0],
        "version": version, "occurred_at": state["occurred_at"], "recorded_at": state["timestamp"],
        "actor": state["actor"], "channel": state["channel"], "payload": payload,
    }
    digest = chained_hash(prev_hash, content)
    envelope = {
        "ticket_id": content["ticket_id"], "ticket_number": number, "desk": desk, "type": known[0],
        "version": version, "schema": SCHEMA, "occurred_at": content["occurred_at"],
        "recorded_at": content["recorded_at"], "position": position, "actor": content["actor"],
        "channel": content["channel"], "payload": payload, "prev_hash": prev_hash, "hash": digest,
    }
    return SealedRecord(position, ticket_id, known[0], version, number, desk, _pack(envelope), digest)
