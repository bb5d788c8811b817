"""Tickets kept current by following the store's notification log: one read per batch, not per ticket.

The repository's cache asks the store for newer events on every ``get`` (one round trip per
command). The intake instead keeps its own cache of the tickets it touched and, once per batch,
reads what the notification log recorded since its last look (``catch_up``): one query, whoever
wrote it. A cached ticket is then as current as the store was at that moment.

Why that is enough to apply commands correctly (see ``consumers.staging``):
- the log is gap-free in commit order (eventsourcing's recorders make writers take turns), so
  nothing recorded before ``catch_up`` can be missed;
- a command that changes a ticket is written with the next version number; if anyone recorded a
  newer event after ``catch_up``, the store refuses the write and the batch is applied again one
  at a time, from fresh reads;
- a command refused without a write was refused on the state as of ``catch_up``, a moment after
  the command arrived and before it is answered.

A ticket whose events arrive with a gap (it was evicted meanwhile, say) is dropped and loaded
again from the store when next needed.
"""

from __future__ import annotations

from collections import OrderedDict
from copy import deepcopy
from typing import Any
from uuid import UUID

from eventsourcing.application import Application


class FollowedCache:
    """The latest known state of recently used aggregates, by id; least recently used go first."""

    def __init__(self, app: Application[UUID], maxsize: int = 20_000, page: int = 1000) -> None:
        self.app = app
        self.maxsize = maxsize
        self.page = page
        self.position = app.recorder.max_notification_id() or 0
        self._items: OrderedDict[UUID, Any] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, aggregate_id: UUID) -> Any | None:
        """A copy of the cached aggregate, or None."""
        found = self._items.get(aggregate_id)
        if found is None:
            return None
        self._items.move_to_end(aggregate_id)
        return deepcopy(found)

    def put(self, aggregate: Any) -> None:
        """Remember an aggregate as it now is in the store (loaded, or just written)."""
        self._items[aggregate.id] = aggregate
        self._items.move_to_end(aggregate.id)
        while len(self._items) > self.maxsize:
            self._items.popitem(last=False)

    def written(self, positions: list[int]) -> None:
        """Our own write got these positions; when nobody wrote in between, skip past them.

        The aggregates it wrote are ``put`` by the writer, so reading them back is wasted work.
        """
        if positions and min(positions) == self.position + 1 \
                and max(positions) - min(positions) == len(positions) - 1:
            self.position = max(positions)

    def catch_up(self) -> int:
        """Apply what the log recorded since the last look to the cached aggregates."""
        seen = 0
        while True:
            notifications = self.app.recorder.select_notifications(
                start=self.position + 1, limit=self.page)
            for notification in notifications:
                self._follow(notification)
            seen += len(notifications)
            if notifications:
                self.position = notifications[-1].id
            if len(notifications) < self.page:
                return seen

    def _follow(self, notification: Any) -> None:
        key = notification.originator_id
        cached = self._items.get(key if isinstance(key, UUID) else UUID(str(key)))
        if cached is None or notification.originator_version <= cached.version:
            return
        if notification.originator_version != cached.version + 1:
            del self._items[cached.id]  # a gap: load it again when needed
            return
        event: Any = self.app.mapper.to_domain_event(notification)
        event.mutate(cached)
