"""Where replays read events from: a source that yields sealed envelopes in log order.

``EnvelopeSource`` is the seam for rebuilds and exports. ``StoreSource`` reads the event store's
notification log (the source of truth) and seals each ticket event into its envelope, hash chain
included. A Kafka source (rebuild "from offset 0", a later change) implements the same two methods:
it reads ``tickets.events`` from offset 0 with ``projections.envelope.decode``, merges the partitions
by ``Envelope.position`` (each partition is in position order, so a heap merge suffices), and
reports the last position it has handed over as ``SourceBatch.end``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from uuid import UUID

from eventsourcing.persistence import Notification

from tickets.application.desk import TicketDesk
from tickets.consumers.store_reader import StoreReader
from tickets.domain.errors import ValidationError
from tickets.domain.history import HistoryEntry, entry_of
from tickets.domain.ticket import TICKET_TOPICS
from tickets.wire.envelope import GENESIS, Envelope, chained_hash, hashed_content, parse_time


@dataclass(frozen=True)
class SourcedEnvelope(Envelope):
    """An envelope that keeps the history entry it was sealed from.

    ``Envelope.entry()`` parses the times back from text, which costs more than the rest of a
    projection's step; this entry is the same value (times round-trip exactly), read for free.
    """

    origin: HistoryEntry | None = field(default=None, compare=False, repr=False)

    def entry(self) -> HistoryEntry:
        return self.origin if self.origin is not None else super().entry()

    @property
    def occurred(self) -> datetime:
        return self.origin.occurred_at if self.origin is not None else parse_time(self.occurred_at)


@dataclass(frozen=True)
class SourceBatch:
    envelopes: list[Envelope]
    end: int  # the last log position this batch covers (envelopes may be fewer: filtered)


class EnvelopeSource(Protocol):
    def max_position(self) -> int:
        """The last position the source holds now (the rebuild's goal)."""

    def read(self, after: int, limit: int) -> SourceBatch:
        """Up to ``limit`` positions after ``after``, in position order; an empty batch at the end."""


def seal_entry(entry: HistoryEntry, number: str, desk: str, position: int, prev_hash: str) -> SourcedEnvelope:
    """``projections.envelope.seal``, keeping the entry (with payload values as they travel)."""
    content = hashed_content(entry, number, desk)
    origin = entry
    if content["payload"] != entry.payload:  # times or ids in the payload: keep them as text
        origin = HistoryEntry(
            ticket_id=entry.ticket_id, version=entry.version, type=entry.type,
            occurred_at=entry.occurred_at, recorded_at=entry.recorded_at, actor=entry.actor,
            channel=entry.channel, payload=content["payload"],
        )
    return SourcedEnvelope(
        ticket_id=content["ticket_id"], ticket_number=number, desk=desk, type=entry.type,
        version=entry.version, occurred_at=content["occurred_at"],
        recorded_at=content["recorded_at"], position=position, actor=entry.actor,
        channel=entry.channel, payload=content["payload"], prev_hash=prev_hash,
        hash=chained_hash(prev_hash, content), origin=origin,
    )


class StoreSource:
    """The notification log, sealed. ``partition=(k, n)`` keeps the tickets whose id % n == k."""

    def __init__(self, app: TicketDesk, partition: tuple[int, int] | None = None) -> None:
        self.app = app
        self.partition = partition
        self._heads: dict[UUID, tuple[int, str, str, str]] = {}
        self._reader = StoreReader(app, cache_size=1)

    def max_position(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def read(self, after: int, limit: int) -> SourceBatch:
        notifications = self.app.recorder.select_notifications(
            start=after + 1, limit=limit, topics=TICKET_TOPICS
        )
        if not notifications:
            return SourceBatch([], after)
        envelopes: list[Envelope] = []
        for notification in notifications:
            if self._mine(notification):
                envelopes.append(self._seal(notification))
        return SourceBatch(envelopes, max(after, notifications[-1].id))

    def _mine(self, notification: Notification) -> bool:
        if self.partition is None:
            return True
        k, n = self.partition
        return notification.originator_id.int % n == k  # type: ignore[union-attr]

    def _seal(self, notification: Notification) -> SourcedEnvelope:
        try:
            entry = entry_of(self.app.mapper.to_domain_event(notification))
        except Exception as error:  # the mapper raises several types for a damaged record
            raise ValidationError(
                f"the stored event at position {notification.id} cannot be read: {error}; "
                "run `tickets replay verify` to see what was changed",
                field="position", rule="readable_event",
            ) from None
        number, desk, prev = self._head(entry)
        envelope = seal_entry(entry, number, desk, notification.id, prev)
        self._heads[entry.ticket_id] = (entry.version, number, desk, envelope.hash)
        return envelope

    def _head(self, entry: HistoryEntry) -> tuple[str, str, str]:
        if entry.version == 1:
            return entry.payload["number"], entry.payload["desk"], GENESIS
        held = self._heads.get(entry.ticket_id)
        if held is not None and held[0] == entry.version - 1:
            return held[1], held[2], held[3]
        return self._reader.recompute_head(entry.ticket_id, entry.version - 1)
