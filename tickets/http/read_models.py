"""How far the read models are, whether they hold a write, and when to look again.

Two kinds of read models sit under the HTTP routes:

- ``EmbeddedReads`` (``tickets run``): the in-process feed writes ``projection_positions``, one
  position per projection in the event store's order; the marks are those positions, read at
  each request, and the position is the highest of them.
- ``SharedReads`` (``tickets serve``): the consumer group writes the read models, a batch per
  partition at a time; how far it is, is its stored offsets (``consumer_offsets``). A
  ``ReadFollower`` keeps them, refreshed on the group's own announcements (PostgreSQL
  ``NOTIFY``), so a request reads no database to tag its answer. The position is the sum of the
  group's offsets: the records it has applied, the same number on every replica. The marks move
  at most twice a second (``ReadFollower.mark_interval``), the change stream at once.

``holds(ticket_id, version)`` is read-your-writes: every projection the API reads has applied the
ticket up to that version (``projection_versions``, written with the rows in one transaction).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from tickets.projections.readstore import ReadStore

if TYPE_CHECKING:
    from tickets.http.read_follower import ReadFollower

#: How often a wait for a write looks again when nothing announces the read models' commits.
EMBEDDED_LOOK_EVERY = 0.05


class ReadModels(Protocol):
    def marks(self) -> dict[str, int]:
        """What the ETags cover: every mark that moves when a read model changes."""
        ...

    def position(self, marks: dict[str, int]) -> int:
        """One number that grows whenever ``marks`` move (the ``position`` in answers)."""
        ...

    def holds(self, ticket_id: str, version: int) -> bool: ...

    def offsets(self, marks: dict[str, int]) -> dict[int, int]:
        """The consumer group's next offset per partition of ``tickets.events`` in ``marks``
        (none when an in-process feed writes the read models)."""
        ...

    def settle(self) -> None:
        """Make ``marks()`` as new as the database (after ``holds``, before answering)."""
        ...

    async def moved(self, timeout: float) -> None:
        """Return when the read models may have moved, or after ``timeout`` seconds."""
        ...


def projection_marks(store: ReadStore) -> dict[str, int]:
    """Each projection's position (the app creates the table if no feed has run yet)."""
    rows = store.read("SELECT projection, position FROM projection_positions")
    return {str(name): int(position) for name, position in rows}


def holds(store: ReadStore, projections: Sequence[str], ticket_id: str, version: int) -> bool:
    """True when each of ``projections`` has applied ``ticket_id`` up to ``version`` at least."""
    marks = ",".join("?" * len(projections))
    rows = store.read(
        f"SELECT count(*) FROM projection_versions WHERE ticket_id = ? AND version >= ? "
        f"AND projection IN ({marks})", (ticket_id, version, *projections))
    return int(rows[0][0]) == len(projections)


class EmbeddedReads:
    def __init__(self, store: ReadStore, projections: Sequence[str]) -> None:
        self.store = store
        self.projections = tuple(projections)

    def marks(self) -> dict[str, int]:
        return projection_marks(self.store)

    def position(self, marks: dict[str, int]) -> int:
        return max(marks.values(), default=0)

    def holds(self, ticket_id: str, version: int) -> bool:
        return holds(self.store, self.projections, ticket_id, version)

    def offsets(self, marks: dict[str, int]) -> dict[int, int]:
        return {}

    def settle(self) -> None:
        """The marks are read at each request already."""

    async def moved(self, timeout: float) -> None:
        await asyncio.sleep(min(timeout, EMBEDDED_LOOK_EVERY))


class SharedReads:
    def __init__(self, store: ReadStore, projections: Sequence[str], follower: ReadFollower) -> None:
        self.store = store
        self.projections = tuple(projections)
        self.follower = follower

    def marks(self) -> dict[str, int]:
        return self.follower.marks()

    def position(self, marks: dict[str, int]) -> int:
        return sum(v for k, v in marks.items() if k.startswith(self.follower.prefix))

    def holds(self, ticket_id: str, version: int) -> bool:
        return holds(self.store, self.projections, ticket_id, version)

    def offsets(self, marks: dict[str, int]) -> dict[int, int]:
        prefix = self.follower.prefix
        return {int(k[len(prefix):]): v for k, v in marks.items() if k.startswith(prefix)}

    def settle(self) -> None:
        self.follower.fresh_marks()

    async def moved(self, timeout: float) -> None:
        subscription = self.follower.subscribe()
        try:
            await subscription.next(timeout)
        finally:
            self.follower.unsubscribe(subscription)
