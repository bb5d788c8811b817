"""Which read-model moves a desk-scoped change stream tells its caller about.

A caller on some desks hears of a move only when its desks' tickets changed: the audit trail
records every ticket event with its desk and position, so the events between two looks say
whether one of the caller's desks moved (one indexed range read, ``indexes.AUDIT_BY_POSITION``).
The other read models may catch up later than the audit trail; a move of one of them is told
while it is still behind the caller's latest event, so a page refetches once each read model
holds the change. A caller on every desk hears of every move, as before.
"""

from __future__ import annotations

from dataclasses import dataclass

from tickets.domain.scope import DeskScope
from tickets.projections.readstore import ReadStore

TRAIL = "audit_trail"


def last_desk_event(store: ReadStore, desks: frozenset[str], after: int, upto: int) -> int:
    """The position of the last event of ``desks`` in (after, upto], or 0 when there is none."""
    marks = ",".join("?" * len(desks))
    rows = store.read(f"SELECT MAX(position) FROM audit_trail WHERE position > ? AND position <= ? "
                      f"AND desk IN ({marks})", (after, upto, *sorted(desks)))
    return int(rows[0][0] or 0) if rows else 0


@dataclass
class DeskFilter:
    """Per stream: the audit trail's position looked at so far, and the caller's last event."""

    desks: DeskScope
    checked: int = 0
    latest: int = 0

    @classmethod
    def starting_at(cls, desks: DeskScope, marks: dict[str, int]) -> DeskFilter:
        return cls(desks, checked=marks.get(TRAIL, 0))

    def told(self, store: ReadStore, seen: dict[str, int], now: dict[str, int], moved: list[str]
             ) -> list[str]:
        """Of the read models that ``moved`` since ``seen``, those the caller is told of."""
        if self.desks.desks is None or not moved:
            return moved
        upto = now.get(TRAIL, 0)
        if upto > self.checked:
            if self.desks.desks:
                self.latest = max(self.latest,
                                  last_desk_event(store, self.desks.desks, self.checked, upto))
            self.checked = upto
        return [name for name in moved if seen.get(name, 0) < self.latest]
