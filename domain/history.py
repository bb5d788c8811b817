"""A ticket's history as plain records: the form shared by the SLA clock, projections and replays.

``HistoryEntry`` is what the Kafka envelope carries about one event, minus transport details,
so the same pure code reads it whether the event came from the store, the embedded feed or Kafka.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol

#: Event attributes that are not the event's own payload.
_ENVELOPE_KEYS = frozenset(
    {"originator_id", "originator_version", "timestamp", "occurred_at", "actor", "channel",
     "originator_topic"}
)


@dataclass(frozen=True)
class HistoryEntry:
    ticket_id: UUID
    version: int
    type: str
    occurred_at: datetime
    recorded_at: datetime
    actor: str
    channel: str
    payload: Mapping[str, Any]


def entry_of(domain_event: DomainEventProtocol[Any]) -> HistoryEntry:
    """The event as a history entry (built without the frozen ``__init__``: every aggregate
    event passes through here, on every command and every replay)."""
    state = domain_event.__dict__
    entry = object.__new__(HistoryEntry)
    entry.__dict__.update(
        ticket_id=state["originator_id"],
        version=state["originator_version"],
        type=type(domain_event).__name__,
        occurred_at=state["occurred_at"],
        recorded_at=state["timestamp"],
        actor=state["actor"],
        channel=state["channel"],
        payload=_payload(state),
    )
    return entry


def _payload(state: dict[str, Any]) -> dict[str, Any]:
    """The event's own fields, in the order the event holds them."""
    payload = state.copy()
    for key in _ENVELOPE_KEYS:
        payload.pop(key, None)
    return payload


def entries_of(domain_events: Iterable[DomainEventProtocol[Any]]) -> list[HistoryEntry]:
    return [entry_of(e) for e in domain_events]
