"""A ``TicketDesk`` that writes the events of a batch of commands in one transaction.

On PostgreSQL every save is a transaction that locks the events table (eventsourcing keeps the
notification log gap-free that way), so a desk that saves once per command spends most of its
time committing. Inside ``staging()`` this desk keeps each command's new events in memory instead;
the next command in the batch sees them (``get`` returns the staged ticket); at the end of the
block they are written with one ``save`` of all the events, in command order, atomically.

What keeps it correct:
- the write is all-or-nothing: the store's unique (aggregate id, version) key refuses it with
  ``IntegrityError`` when any staged event clashes with one stored meanwhile (another writer
  changed a ticket, a drawn ticket number is taken, or a command's receipt was stored before);
  the caller then throws the batch's answers away and applies its commands one at a time;
- tickets are read from the store as usual (the repository fast-forwards its cache), so every
  check sees what is stored plus what this batch staged before it;
- while staging, ``receipt`` looks only at the batch (a command sent twice in one batch is
  answered as a duplicate) and not at the store: a receipt stored before makes the write fail as
  above, and a command the batch refused is looked up in the store afterwards
  (``stored_receipt``), because a command applied before may now be refused by its own effect;
  a version-1 receipt, from before receipts were scoped by sender, has another id, so it is
  looked up in the store here, only in a store that holds such receipts
  (``TicketDesk.legacy_receipts_stored``);
- a clash inside the batch (two new tickets drawing one number, a receipt twice) raises
  ``IntegrityError`` at once, as the store would, and the desk's own retry handles it.

On PostgreSQL the batch is written by ``consumers.event_writer`` (the recorder's own lock and
table, one round trip, binary arrays); on any other store by ``EventStore.put``.

Not thread-safe while staging: one thread runs a batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from copy import deepcopy
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from tickets.application.desk import CommandResult, TicketDesk
from tickets.consumers.event_writer import PostgresEventWriter, event_writer_for
from tickets.consumers.followed_cache import FollowedCache
from tickets.domain.errors import TicketNotFoundError, ticket_not_found
from tickets.domain.history import HistoryEntry
from tickets.domain.receipts import CommandReceipt, CommandRef, command_key
from tickets.domain.ticket import Ticket


class StagingBypassedError(RuntimeError):
    """A read that goes to the store directly was made while staging: its answer would be stale."""


class _Stage:
    def __init__(self) -> None:
        self.aggregates: dict[UUID, Any] = {}
        self.events: list[Any] = []

    def add(self, objs: tuple[Any, ...]) -> None:
        collected: list[tuple[Any, list[Any]]] = []
        for obj in objs:
            if obj is None:
                continue
            if not isinstance(obj, Aggregate):
                raise TypeError("only aggregates are staged")
            events = list(obj.collect_events())
            if events:
                staged = self.aggregates.get(obj.id)
                first = events[0].originator_version
                if staged is not None and first != staged.version + 1:
                    raise IntegrityError(f"version {first} of {obj.id} is staged already")
            collected.append((obj, events))
        for obj, events in collected:
            self.aggregates[obj.id] = obj
            self.events.extend(events)


class StagingDesk(TicketDesk):
    #: eventsourcing names an application's tables after its class unless told: this desk writes
    #: the desk's own tables, where the publisher, the HTTP API and every other process read.
    name = TicketDesk.name
    _stage: _Stage | None = None
    _followed: FollowedCache | None = None
    _writer: PostgresEventWriter | bool | None = False  # False: not looked for yet

    @property
    def followed(self) -> FollowedCache:
        if self._followed is None:
            self._followed = FollowedCache(self)
        return self._followed

    @contextmanager
    def staging(self) -> Iterator[None]:
        """Hold every save of the block; write them all at its end, in one transaction.

        Raises ``IntegrityError`` (nothing written) when the store refuses the batch.
        """
        if self._stage is not None:
            raise RuntimeError("already staging")
        self.followed.catch_up()
        self._stage = _Stage()
        try:
            yield
        except BaseException:
            self._stage = None
            raise
        stage, self._stage = self._stage, None
        if stage.events:
            self.followed.written(self.write_staged(stage.events))
        for aggregate in stage.aggregates.values():
            if isinstance(aggregate, Ticket):
                self.followed.put(aggregate)

    def write_staged(self, events: list[Any]) -> list[int]:
        """Store a batch's events in one transaction; their notification ids.

        The event store directly: ``Application.save`` would only add a runtime protocol check
        per event (slow) and hooks this desk does not use (no snapshots, no notify).
        """
        if self._writer is False:
            self._writer = event_writer_for(self.recorder)
        if isinstance(self._writer, PostgresEventWriter):
            return self._writer.write([self.mapper.to_stored_event(e) for e in events])
        return [r.notification.id for r in self.events.put(events)]

    @property
    def is_staging(self) -> bool:
        return self._stage is not None

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        if self._stage is None:
            return super().save(*objs, **kwargs)
        self._stage.add(objs)
        return []

    def get(self, ref: str | UUID) -> Ticket:
        if self._stage is None:
            return super().get(ref)
        ticket_id = self.ticket_id(ref)
        staged = self._stage.aggregates.get(ticket_id)
        if isinstance(staged, Ticket):
            return deepcopy(staged)
        known = self.followed.get(ticket_id)
        if isinstance(known, Ticket):
            return known
        try:
            ticket = super().get(ticket_id)
        except TicketNotFoundError:
            raise ticket_not_found(ref) from None  # named as asked, as the desk's own path does
        self.followed.put(deepcopy(ticket))
        return ticket

    def receipt(self, command_id: CommandRef | None) -> CommandResult | None:
        if self._stage is None:
            return super().receipt(command_id)
        key = command_key(command_id)
        if key is None:
            return None
        staged = self._stage.aggregates.get(key.receipt_id)
        found = staged if isinstance(staged, CommandReceipt) else self._legacy_receipt(key)
        if found is None:
            return None
        found.check_same_command(key)
        return CommandResult(found.ticket_id, found.number, found.ticket_version, duplicate=True)

    def stored_receipt(self, command_id: CommandRef | None) -> CommandResult | None:
        """The receipt in the store, whether staging or not."""
        return super().receipt(command_id)

    def history(self, ref: str | UUID, *, until_version: int | None = None) -> list[HistoryEntry]:
        if self._stage is not None:
            raise StagingBypassedError("history is read from the store, past the staged events")
        return super().history(ref, until_version=until_version)
