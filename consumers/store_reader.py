"""Reads the event store's notification log and seals each ticket event into an envelope.

The hash chain needs each ticket's previous hash, number and desk. They are kept in a cache;
on a miss (a restart, a cold cache) they are recomputed from the ticket's earlier events in the
store, so the reader holds no state of its own that could drift from the store.

A stored event that cannot be turned into an envelope (its state does not decode, its topic names
no class, its fold refuses it) stops ``read``; ``read_or_set_aside`` hands it back as
``Unreadable`` instead, with where it is and why, so a follower can keep it aside and go on. The
store being away is not such an event: that error goes up from both.
"""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification, PersistenceError

from tickets.application.desk import TicketDesk
from tickets.consumers.sealed_records import SealedRecord, seal_record
from tickets.consumers.stored_entries import history_entry
from tickets.domain.history import entry_of
from tickets.domain.ticket import TICKET_TOPICS
from tickets.projections.base import Unreadable
from tickets.wire.envelope import GENESIS, Envelope, chained_hash, hashed_content, seal

#: Errors of the store itself (away, locked, broken connection): never an event to set aside.
STORE_ERRORS: tuple[type[BaseException], ...] = (PersistenceError, sqlite3.Error, OSError)
#: How much of an unreadable event's stored state is kept beside it.
STORED_TEXT_LIMIT = 10_000


def _unreadable(notification: Notification, error: Exception) -> Unreadable:
    state = notification.state
    text = state.decode("utf-8", "replace") if isinstance(state, bytes | bytearray) else repr(state)
    return Unreadable(notification.id, str(notification.originator_id),
                      int(notification.originator_version or 0), notification.topic,
                      f"{type(error).__name__}: {error}"[:500], text[:STORED_TEXT_LIMIT])


class StoreReader:
    def __init__(self, app: TicketDesk, cache_size: int = 200_000) -> None:
        self.app = app
        self._heads: OrderedDict[UUID, tuple[int, str, str, str]] = OrderedDict()
        self._cache_size = cache_size

    def max_position(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def read(self, after: int, limit: int) -> list[Envelope]:
        """Up to ``limit`` ticket envelopes with positions after ``after``, in log order."""
        notifications = self.app.recorder.select_notifications(
            start=after + 1, limit=limit, topics=TICKET_TOPICS
        )
        return [self._seal(notification) for notification in notifications]

    def read_or_set_aside(self, after: int, limit: int) -> tuple[list[Envelope], list[Unreadable]]:
        """``read``, but an event that cannot be sealed comes back as ``Unreadable`` instead of
        stopping the read (a later event of its ticket too: its chain cannot be computed)."""
        notifications = self.app.recorder.select_notifications(
            start=after + 1, limit=limit, topics=TICKET_TOPICS
        )
        envelopes: list[Envelope] = []
        unreadable: list[Unreadable] = []
        for notification in notifications:
            try:
                envelopes.append(self._seal(notification))
            except STORE_ERRORS:
                raise
            except Exception as error:  # anything about this one event: keep it aside
                unreadable.append(_unreadable(notification, error))
        return envelopes, unreadable

    def _seal(self, notification: Notification) -> Envelope:
        entry = history_entry(notification, self.app.mapper)
        number, desk, prev = self._head(entry.ticket_id, entry.version - 1, entry.payload)
        envelope = seal(entry, number=number, desk=desk, position=notification.id, prev_hash=prev)
        self._remember(entry.ticket_id, entry.version, number, desk, envelope.hash)
        return envelope

    def read_records(self, after: int, limit: int) -> list[SealedRecord]:
        """``read``, as the envelopes' bytes: the publisher's path (``consumers.sealed_records``)."""
        notifications = self.app.recorder.select_notifications(
            start=after + 1, limit=limit, topics=TICKET_TOPICS
        )
        records = []
        mapper = self.app.mapper
        for notification in notifications:
            record = seal_record(notification, mapper, notification.id, self._head)
            if record is None:
                envelope = self._seal(notification)
                record = SealedRecord(
                    envelope.position, envelope.history_entry.ticket_id, envelope.type, envelope.version,
                    envelope.ticket_number, envelope.desk, envelope.encode(), envelope.hash)
            else:
                self._remember(record.ticket_id, record.version, record.number, record.desk, record.hash)
            records.append(record)
        return records

    def _remember(self, ticket_id: UUID, version: int, number: str, desk: str, hash_: str) -> None:
        self._heads[ticket_id] = (version, number, desk, hash_)
        self._heads.move_to_end(ticket_id)
        if len(self._heads) > self._cache_size:
            self._heads.popitem(last=False)

    def _head(self, ticket_id: UUID, version: int, payload: Any) -> tuple[str, str, str]:
        """(number, desk, hash) of the ticket at ``version`` (0: before its first event)."""
        if version == 0:
            return payload["number"], payload["desk"], GENESIS
        cached = self._heads.get(ticket_id)
        if cached is not None and cached[0] == version:
            return cached[1], cached[2], cached[3]
        return self.recompute_head(ticket_id, version)

    def recompute_head(self, ticket_id: UUID, version: int) -> tuple[str, str, str]:
        events = list(self.app.events.get(ticket_id, lte=version))
        first = entry_of(events[0])
        number, desk = first.payload["number"], first.payload["desk"]
        head = GENESIS
        for event in events:
            head = chained_hash(head, hashed_content(entry_of(event), number, desk))
        self._remember(ticket_id, version, number, desk, head)
        return number, desk, head


def envelopes_of_ticket(app: TicketDesk, ticket_id: UUID) -> list[Envelope]:
    """Every envelope of one ticket, sealed from the store (positions are 0: not from the log)."""
    envelopes: list[Envelope] = []
    prev = GENESIS
    number = desk = ""
    for event in app.events.get(ticket_id):
        entry = entry_of(event)
        if entry.version == 1:
            number, desk = entry.payload["number"], entry.payload["desk"]
        envelope = seal(entry, number=number, desk=desk, position=0, prev_hash=prev)
        prev = envelope.hash
        envelopes.append(envelope)
    return envelopes
