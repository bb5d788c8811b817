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

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from tickets.domain.catalogue import Catalogue
from tickets.domain.facts import TicketFacts
from tickets.projections.base import Projection, SetAside
from tickets.projections.envelope import Envelope, format_time, parse_time
from tickets.projections.facts_memo import facts_of, facts_text, folded, sla_report
from tickets.projections.facts_state import fold_batch
from tickets.projections.readstore import Pending, ReadStore, Tx
from tickets.projections.sla_timer_row import COLUMNS, KINDS, TimerRow, state_now, timer_rows

__all__ = [
    "SlaTimersProjection", "TimerAction", "TimerRow", "due_before", "next_actions", "state_now",
    "timers_of",
]

_SELECT = f"SELECT {', '.join(COLUMNS)} FROM sla_timers"
_KEY = ("ticket_id", "kind")
_UPSERT = (
    f"INSERT INTO sla_timers ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))}) "
    "ON CONFLICT (ticket_id, kind) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c not in _KEY)
)
#: The scheduler's query: a range on the ``next_action_at`` index, read in index order.
NEXT_ACTIONS_SQL = (
    "SELECT ticket_id, number, kind, next_action, next_action_at FROM sla_timers "
    "WHERE next_action_at <= ? ORDER BY next_action_at, ticket_id, kind LIMIT ?"
)
#: Running clocks past their due time: a range on the partial ``due`` index.
DUE_BEFORE_SQL = (
    f"{_SELECT} WHERE stopped_at IS NULL AND due < ? ORDER BY due, ticket_id, kind LIMIT ?"
)


@dataclass(frozen=True)
class TimerAction:
    ticket_id: str
    number: str
    kind: str
    action: str  # warn_auto_close | close_no_reply | escalate_at_risk | escalate_breach
    at: datetime


class SlaTimersProjection(Projection):
    name = "sla_timers"
    ddl = (
        """CREATE TABLE IF NOT EXISTS sla_timer_facts (
            ticket_id TEXT PRIMARY KEY, facts TEXT NOT NULL, position BIGINT NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS sla_timers (
            ticket_id TEXT NOT NULL, kind TEXT NOT NULL, number TEXT NOT NULL, desk TEXT NOT NULL,
            plan TEXT NOT NULL, severity TEXT NOT NULL, level TEXT NOT NULL,
            ticket_status TEXT NOT NULL, state TEXT NOT NULL, start_at TEXT NOT NULL,
            due TEXT NULL, at_risk_at TEXT NULL, stopped_at TEXT NULL,
            used_seconds DOUBLE PRECISION NOT NULL, target_seconds DOUBLE PRECISION NOT NULL,
            calendar TEXT NOT NULL, calendar_version BIGINT NOT NULL,
            policy_version BIGINT NOT NULL, next_action TEXT NULL, next_action_at TEXT NULL,
            position BIGINT NOT NULL, PRIMARY KEY (ticket_id, kind))""",
        "CREATE INDEX IF NOT EXISTS sla_timers_next_action "
        "ON sla_timers (next_action_at, ticket_id, kind)",
        "CREATE INDEX IF NOT EXISTS sla_timers_due "
        "ON sla_timers (due, ticket_id, kind) WHERE stopped_at IS NULL",
    )

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue

    def read_state(self, tx: Tx, ticket_ids: Sequence[str]) -> Pending:
        return tx.query_in("SELECT ticket_id, facts FROM sla_timer_facts WHERE ticket_id {in}", (),
                           ticket_ids)

    def apply(self, tx: Tx, batch: Sequence[Envelope], held: Pending | None = None) -> list[SetAside]:
        if held is None:
            held = self.read_state(tx, sorted({e.ticket_id for e in batch}))
        facts = {ticket_id: facts_of(text) for ticket_id, text in held.rows()}
        states, last, aside = fold_batch(facts, batch, _step)
        rows: list[tuple[Any, ...]] = []
        gone: list[tuple[str, str]] = []
        for ticket_id, envelope in sorted(last.items()):
            ticket_rows = self._rows(states[ticket_id], envelope)
            rows += ticket_rows
            kept = {row[1] for row in ticket_rows}
            gone += [(ticket_id, kind) for kind in KINDS if kind not in kept]
        tx.executemany(
            "INSERT INTO sla_timer_facts (ticket_id, facts, position) VALUES (?, ?, ?) "
            "ON CONFLICT (ticket_id) DO UPDATE SET facts = excluded.facts, "
            "position = excluded.position",
            [(t, facts_text(states[t]), e.position) for t, e in sorted(last.items())],
        )
        tx.executemany("DELETE FROM sla_timers WHERE ticket_id = ? AND kind = ?", gone)
        tx.executemany(_UPSERT, rows)
        return aside

    def _rows(self, facts: TicketFacts, envelope: Envelope) -> list[tuple[Any, ...]]:
        """A desk or plan missing from the catalogue raises: a configuration error, not bad data."""
        desk = self.catalogue.desk(facts.desk, facts.policy_version)
        report = sla_report(facts, desk, envelope.occurred)
        return timer_rows(facts, report, desk, envelope.position)


def _step(facts: TicketFacts | None, envelope: Envelope) -> TicketFacts:
    return folded(facts, envelope.history_entry)


def timers_of(store: ReadStore, ticket_id: str | UUID) -> list[TimerRow]:
    """The ticket's clocks, by kind."""
    rows = store.read(f"{_SELECT} WHERE ticket_id = ? ORDER BY kind", (str(ticket_id),))
    return [TimerRow.from_row(row) for row in rows]


def due_before(store: ReadStore, t: datetime, limit: int = 100) -> list[TimerRow]:
    """Clocks still running (paused ones have no due time) whose due time is before ``t``, earliest first."""
    return [TimerRow.from_row(row) for row in store.read(DUE_BEFORE_SQL, (format_time(t), limit))]


def next_actions(store: ReadStore, now: datetime, limit: int = 500) -> list[TimerAction]:
    """The scheduler's work: actions due at or before ``now``, earliest first; costs O(number due)."""
    rows = store.read(NEXT_ACTIONS_SQL, (format_time(now), limit))
    return [
        TimerAction(ticket_id=t, number=n, kind=k, action=a, at=parse_time(at)) for t, n, k, a, at in rows
    ]
