"""SLA timers: every ticket's SLA clocks as of its last event, and the scheduler's next action for each.

State per ticket is its ``TicketFacts`` (table ``sla_timer_facts``), folded by the domain's own
``fold``; the clocks are the domain's own ``compute`` with ``now`` = the event's ``occurred_at``, so
a row says exactly what ``TicketDesk.sla`` says at that moment. Nothing here reads a clock: states
that change with time alone (running → at risk → breached) are re-derived when read, by
``state_now``, and the scheduler finds its work through ``next_action_at``.

The index on ``due`` is partial (``WHERE stopped_at IS NULL``): stopped clocks of closed tickets
stay as the record of how the SLA went, and must not make "what is overdue" grow with history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple
from uuid import UUID

from tickets.domain.catalogue import Catalogue
from tickets.domain.facts import TicketFacts
from tickets.projections.base import Projection
from tickets.projections.facts_memo import facts_of, facts_text, folded, sla_report
from tickets.projections.facts_state import id_text
from tickets.projections.readstore import ReadStore
from tickets.projections.schema import Row, Table
from tickets.projections.sla_timer_row import COLUMNS, TimerRow, state_now, timer_rows
from tickets.wire.envelope import Envelope, format_time, parse_time

__all__ = [
    "SlaTimersProjection", "TimerAction", "TimerRow", "TimerState", "due_before", "next_actions",
    "state_now", "timers_of",
]

_SELECT = f"SELECT {', '.join(COLUMNS)} FROM sla_timers"
#: The scheduler's query: a range on the ``next_action_at`` index, read in index order.
NEXT_ACTIONS_SQL = (
    "SELECT ticket_id, number, kind, next_action, next_action_at FROM sla_timers "
    "WHERE next_action_at <= ? ORDER BY next_action_at, ticket_id, kind LIMIT ?"
)
#: Running clocks past their due time: a range on the partial ``due`` index.
DUE_BEFORE_SQL = (
    f"{_SELECT} WHERE stopped_at IS NULL AND due < ? ORDER BY due, ticket_id, kind LIMIT ?"
)

_TEXT, _NULL_TEXT, _BIGINT = "TEXT NOT NULL", "TEXT NULL", "BIGINT NOT NULL"
_DOUBLE = "DOUBLE PRECISION NOT NULL"
FACTS = Table("sla_timer_facts", (("ticket_id", _TEXT), ("facts", _TEXT), ("position", _BIGINT)),
              ("ticket_id",))
TIMERS = Table(
    "sla_timers",
    tuple((name, {"due": _NULL_TEXT, "at_risk_at": _NULL_TEXT, "stopped_at": _NULL_TEXT,
                  "next_action": _NULL_TEXT, "next_action_at": _NULL_TEXT, "used_seconds": _DOUBLE,
                  "target_seconds": _DOUBLE, "calendar_version": _BIGINT, "policy_version": _BIGINT,
                  "position": _BIGINT}.get(name, _TEXT)) for name in COLUMNS),
    ("ticket_id", "kind"),
    ("CREATE INDEX IF NOT EXISTS sla_timers_next_action "
     "ON sla_timers (next_action_at, ticket_id, kind)",
     "CREATE INDEX IF NOT EXISTS sla_timers_due "
     "ON sla_timers (due, ticket_id, kind) WHERE stopped_at IS NULL"),
)


class TimerState(NamedTuple):
    """A ticket as the SLA timers keep it: its facts, and the log position of its last event."""

    facts: TicketFacts
    position: int


@dataclass(frozen=True)
class TimerAction:
    ticket_id: str
    number: str
    kind: str
    action: str  # warn_auto_close | close_no_reply | escalate_at_risk | escalate_breach
    at: datetime


class SlaTimersProjection(Projection[TimerState]):
    name = "sla_timers"
    state_table = FACTS
    tables_declared = (TIMERS,)

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue

    def evolve(self, state: TimerState | None, envelope: Envelope) -> TimerState:
        """The domain's fold of the ticket's facts (``facts_memo.folded``: once for every projection).

        The state is made without the named tuple's ``__new__`` (Python code, run for every event)."""
        facts = folded(None if state is None else state.facts, envelope.history_entry)
        return tuple.__new__(TimerState, (facts, envelope.position))  # type: ignore[type-var]

    def rows(self, state: TimerState) -> Mapping[str, Sequence[Row]]:
        """One row per clock of the ticket as of its last event. A desk or plan missing from the
        catalogue raises: a configuration error, not bad data."""
        facts = state.facts
        desk = self.catalogue.desk(facts.desk, facts.policy_version)
        report = sla_report(facts, desk, facts.last_occurred_at)
        return {"sla_timers": timer_rows(facts, report, desk, state.position)}

    def state_row(self, state: TimerState) -> Row:
        return (id_text(state.facts.ticket_id), facts_text(state.facts), state.position)

    def load_state(self, row: Row) -> TimerState:
        return TimerState(facts_of(row[1]), int(row[2]))


def timers_of(store: ReadStore, ticket_id: str | UUID) -> list[TimerRow]:
    """The ticket's clocks, by kind."""
    found = store.read(f"{_SELECT} WHERE ticket_id = ? ORDER BY kind", (str(ticket_id),))
    return [TimerRow.from_row(row) for row in found]


def due_before(store: ReadStore, t: datetime, limit: int = 100) -> list[TimerRow]:
    """Clocks still running (paused ones have no due time) whose due time is before ``t``, earliest first."""
    return [TimerRow.from_row(row) for row in store.read(DUE_BEFORE_SQL, (format_time(t), limit))]


def next_actions(store: ReadStore, now: datetime, limit: int = 500) -> list[TimerAction]:
    """The scheduler's work: actions due at or before ``now``, earliest first; costs O(number due)."""
    rows = store.read(NEXT_ACTIONS_SQL, (format_time(now), limit))
    return [
        TimerAction(ticket_id=t, number=n, kind=k, action=a, at=parse_time(at)) for t, n, k, a, at in rows
    ]
