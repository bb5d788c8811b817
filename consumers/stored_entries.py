"""Stored ticket events read straight into history entries, without building domain objects.

Reading the log for the feed, the publisher and rebuilds needs only each event's fields, not an
aggregate event object: decoding the stored JSON directly is several times cheaper than the
library's mapper, which builds the event class, runs its protocol checks and upcasts. Anything
this fast path does not recognise — an older class version that needs upcasting, a compressed or
encrypted store, a transcoded type other than times — goes through the mapper, so the result is
always the same history entry.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent

from tickets.domain.history import HistoryEntry, entry_of
from tickets.domain.stored_topics import stored_topics
from tickets.domain.ticket import TICKET_EVENT_CLASSES

#: topic (today's and the old name) → (event type name, current class version)
KNOWN: dict[str, tuple[str, int]] = {
    topic: (cls.__name__, getattr(cls, "class_version", 1))
    for cls in TICKET_EVENT_CLASSES for topic in stored_topics(cls)
}
_NOT_PAYLOAD = frozenset(
    {"timestamp", "occurred_at", "actor", "channel", "originator_topic", "class_version"}
)


class NeedsMapper(Exception):
    """The stored state holds something only the library's transcoder knows (every fast reader
    of stored events raises it and hands the event to the library's mapper)."""


def _unwrap(obj: dict[str, Any]) -> Any:
    kind = obj.get("_type_")
    if kind is None:
        return obj
    if kind == "datetime_iso":
        return datetime.fromisoformat(obj["_data_"])
    raise NeedsMapper(kind)


_decode: Callable[[str], Any] = json.JSONDecoder(object_hook=_unwrap).decode


def history_entry(stored: StoredEvent, mapper: Mapper[UUID]) -> HistoryEntry:
    """The history entry of one stored ticket event (fast path, or the mapper's when needed)."""
    known = KNOWN.get(stored.topic)
    if known is not None and mapper.cipher is None and mapper.compressor is None:
        try:
            state = _decode(stored.state.decode("utf-8"))
        except NeedsMapper:
            state = None
        if state is not None and state.get("class_version", 1) == known[1]:
            return HistoryEntry(
                ticket_id=_uuid(stored.originator_id), version=stored.originator_version,
                type=known[0], occurred_at=state["occurred_at"], recorded_at=state["timestamp"],
                actor=state["actor"], channel=state["channel"],
                payload={k: v for k, v in state.items() if k not in _NOT_PAYLOAD},
            )
    return entry_of(mapper.to_domain_event(stored))


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)
