"""The rows a fast rebuild writes for the four projections: each ticket's final rows, once per batch.

The rows are built before the batch's transaction opens (so parts writing one SQLite file hold
its lock only while SQLite works), as ``(sql, rows)`` statements. A ticket's clocks are computed
once per batch and shared by the three projections that read them; its facts text likewise.

Each function writes what the named projection's ``apply`` would leave after the same envelopes,
built with the projection's own pure row functions (``timer_rows``, ``queue_row``,
``dashboard_row``; the audit rows are ``replay.log_source``'s) and the same upserts. What is not
shared is only the SQL around them; the rebuild tests compare every row with the live
projections'. A projection that is not named here is rebuilt by its own ``apply``
(``replay.fast_writer``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from tickets.domain.catalogue import Catalogue
from tickets.domain.sla import SlaReport, compute
from tickets.projections.audit_entry import COLUMNS as AUDIT_COLUMNS
from tickets.projections.dashboard_state import ROW_COLUMNS, CountKey, DashboardRow, dashboard_row
from tickets.projections.envelope import format_time
from tickets.projections.escalation_entry import COLUMNS as QUEUE_COLUMNS
from tickets.projections.escalation_entry import queue_row
from tickets.projections.sla_timer_row import COLUMNS as TIMER_COLUMNS
from tickets.projections.sla_timer_row import KINDS, timer_rows
from tickets.replay.fast_state import TicketState
from tickets.replay.fast_text import facts_text
from tickets.replay.log_source import Sealed


def upsert(table: str, columns: Sequence[str], key: Sequence[str]) -> str:
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    return (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
            f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}")


_VERSIONS = upsert("projection_versions", ("projection", "ticket_id", "version", "hash"),
                   ("projection", "ticket_id"))
_TIMER_FACTS = upsert("sla_timer_facts", ("ticket_id", "facts", "position"), ("ticket_id",))
_TIMERS = upsert("sla_timers", TIMER_COLUMNS, ("ticket_id", "kind"))
_QUEUE_STATE_COLUMNS = ("ticket_id", "facts", "escalation_reason", "escalation_target",
                        "escalated_at", "position")
_QUEUE_STATE = upsert("escalation_queue_state", _QUEUE_STATE_COLUMNS, ("ticket_id",))
_QUEUE = upsert("escalation_queue", QUEUE_COLUMNS, ("ticket_id",))
_DASHBOARD_FACTS = upsert("dashboard_facts", ("ticket_id", "facts"), ("ticket_id",))
_DASHBOARD = upsert("dashboard_tickets", ROW_COLUMNS, ("ticket_id",))
_AUDIT = (f"INSERT INTO audit_trail ({', '.join(AUDIT_COLUMNS)}) "
          f"VALUES ({', '.join('?' * len(AUDIT_COLUMNS))})")


class Finished:
    """One ticket at the end of a batch: its state, the report its clocks come from, its facts text."""

    __slots__ = ("desk", "facts_text", "report", "state", "ticket_id")

    def __init__(self, state: TicketState, catalogue: Catalogue) -> None:
        self.state = state
        self.ticket_id = str(state.facts.ticket_id)
        #: The desk's version the ticket was opened under: its rules and pinned holiday dates.
        self.desk = desk = catalogue.desk(state.facts.desk, state.facts.policy_version)
        desk.plan(state.facts.plan)  # a desk and plan the catalogue knows, or the generic path
        self.report: SlaReport = compute(state.facts, desk, now=state.facts.last_occurred_at)
        self.facts_text = facts_text(state.facts)


Statement = tuple[str, list[tuple[Any, ...]]]
#: Builds a projection's statements for a batch's finished tickets, before any transaction opens.
Writer = Callable[[Catalogue, Sequence[Finished], Sequence[Sealed]], list[Statement]]


def _versions(name: str, done: Sequence[Finished]) -> Statement:
    return _VERSIONS, [(name, t.ticket_id, t.state.facts.version, t.state.hash) for t in done]


def sla_timers(catalogue: Catalogue, done: Sequence[Finished], _: Sequence[Sealed]) -> list[Statement]:
    rows: list[tuple[Any, ...]] = []
    gone: list[tuple[Any, ...]] = []
    for t in done:
        facts, position = t.state.facts, t.state.position
        mine = timer_rows(facts, t.report, t.desk, position)
        rows += mine
        if t.state.written:
            kept = {row[1] for row in mine}
            gone += [(t.ticket_id, kind) for kind in KINDS if kind not in kept]
    return [
        (_TIMER_FACTS, [(t.ticket_id, t.facts_text, t.state.position) for t in done]),
        ("DELETE FROM sla_timers WHERE ticket_id = ? AND kind = ?", gone),
        (_TIMERS, rows), _versions("sla_timers", done),
    ]


def escalation_queues(
    catalogue: Catalogue, done: Sequence[Finished], _: Sequence[Sealed]
) -> list[Statement]:
    states: list[tuple[Any, ...]] = []
    rows: list[tuple[Any, ...]] = []
    gone: list[tuple[Any, ...]] = []
    for t in done:
        queue, position = t.state.queue, t.state.position
        at = None if queue.escalated_at is None else format_time(queue.escalated_at)
        states.append((t.ticket_id, t.facts_text, queue.escalation_reason,
                       queue.escalation_target, at, position))
        row = queue_row(queue, t.desk, t.report, position)
        if row is not None:
            rows.append(row)
        elif t.state.written:
            gone.append((t.ticket_id,))
    return [(_QUEUE_STATE, states), ("DELETE FROM escalation_queue WHERE ticket_id = ?", gone),
            (_QUEUE, rows), _versions("escalation_queues", done)]


def dashboard(catalogue: Catalogue, done: Sequence[Finished], _: Sequence[Sealed]) -> list[Statement]:
    """Also moves each ticket's remembered row forward: the counters move by difference."""
    delta: Counter[CountKey] = Counter()
    rows: list[DashboardRow] = []
    for t in done:
        row = dashboard_row(t.state.facts, t.desk, t.report)
        delta.update(row.counts())
        if t.state.dashboard is not None:
            delta.subtract(t.state.dashboard.counts())
        t.state.dashboard = row
        rows.append(row)
    moved = sorted((key, n) for key, n in delta.items() if n != 0)
    return [
        (_DASHBOARD_FACTS, [(t.ticket_id, t.facts_text) for t in done]),
        (_DASHBOARD, [row.values() for row in rows]),
        ("INSERT INTO dashboard_counts (kind, desk, severity, key, tickets) VALUES (?, ?, ?, ?, ?) "
         "ON CONFLICT (kind, key, desk, severity) "
         "DO UPDATE SET tickets = dashboard_counts.tickets + excluded.tickets",
         [(*key, n) for key, n in moved]),
        ("DELETE FROM dashboard_counts WHERE kind = ? AND desk = ? AND severity = ? AND key = ? "
         "AND tickets = 0", [key for key, _ in moved]),
        _versions("dashboard", done),
    ]


def audit_trail(_: Catalogue, done: Sequence[Finished], events: Sequence[Sealed]) -> list[Statement]:
    """The events were sealed from the store by this rebuild (``replay.log_source``), rows and all:
    their chain holds by construction."""
    return [(_AUDIT, [e.row for e in events]), _versions("audit_trail", done)]


#: The projections a fast rebuild writes itself, by name, with the columns it expects them to have.
WRITERS: dict[str, tuple[Writer, dict[str, Sequence[str]]]] = {
    "sla_timers": (sla_timers, {"sla_timers": TIMER_COLUMNS,
                                "sla_timer_facts": ("ticket_id", "facts", "position")}),
    "escalation_queues": (escalation_queues, {"escalation_queue": QUEUE_COLUMNS,
                                              "escalation_queue_state": _QUEUE_STATE_COLUMNS}),
    "dashboard": (dashboard, {"dashboard_tickets": ROW_COLUMNS,
                              "dashboard_facts": ("ticket_id", "facts"),
                              "dashboard_counts": ("kind", "desk", "severity", "key", "tickets")}),
    "audit_trail": (audit_trail, {"audit_trail": AUDIT_COLUMNS}),
}
