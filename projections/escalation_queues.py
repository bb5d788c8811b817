"""Escalation queues: per level, the open tickets that need its attention, earliest deadline first.

A ticket is in the queue of its level (complaints: the service manager, the desk's top level)
while it is open and has a running SLA clock, a complaint or an escalation. State per ticket is
kept in ``escalation_queue_state`` (facts and latest escalation), apart from every other
projection so that this one rebuilds on its own; the clocks are the domain's own ``compute``.

Whether a row is at risk or breached depends on the time it is read, so the row stores
``attention_at`` (when it enters the queue) and ``queues`` selects ``attention_at <= now`` with
the ``(level, attention_at)`` index: the cost follows the entries shown, not the open tickets.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from tickets.domain.catalogue import Catalogue
from tickets.projections.base import Projection
from tickets.projections.escalation_entry import COLUMNS, QueueEntry, QueueState, queue_row
from tickets.projections.facts_memo import facts_of, facts_text, folded, sla_report
from tickets.projections.facts_state import id_text
from tickets.projections.readstore import ReadStore
from tickets.projections.schema import Row, Table
from tickets.wire.envelope import Envelope, format_time, parse_time

__all__ = ["LEVELS", "EscalationQueuesProjection", "QueueEntry", "QueueState", "queues"]

#: The levels every shipped desk uses (the default of ``Desk.escalation_levels``), lowest first.
LEVELS = ("front_line", "level_2", "service_manager")
#: One level's entries that need attention at ``now``: a range on the ``(level, attention_at)`` index.
QUEUE_SQL = (
    f"SELECT {', '.join(COLUMNS)} FROM escalation_queue WHERE level = ? AND attention_at <= ? "
    "ORDER BY due IS NULL, due, number LIMIT ?"
)
_TEXT, _NULL = "TEXT NOT NULL", "TEXT NULL"
STATE = Table(
    "escalation_queue_state",
    (("ticket_id", _TEXT), ("facts", _TEXT), ("escalation_reason", _NULL),
     ("escalation_target", _NULL), ("escalated_at", _NULL), ("position", "BIGINT NOT NULL")),
    ("ticket_id",),
)
QUEUE = Table(
    "escalation_queue",
    tuple((name, _NULL if name in ("kind", "due", "at_risk_at", "attention_at") else
           "BIGINT NOT NULL" if name == "position" else _TEXT) for name in COLUMNS),
    ("ticket_id",),
    ("CREATE INDEX IF NOT EXISTS escalation_queue_attention ON escalation_queue (level, attention_at)",),
)


def _state(fields: tuple[object, ...]) -> QueueState:
    """``QueueState(*fields)``, every field given, without the named tuple's ``__new__`` (written in
    Python: it cost a fifth of this projection's step, run for every event)."""
    return tuple.__new__(QueueState, fields)  # type: ignore[type-var]


class EscalationQueuesProjection(Projection[QueueState]):
    name = "escalation_queues"
    state_table = STATE
    tables_declared = (QUEUE,)

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue

    def evolve(self, state: QueueState | None, envelope: Envelope) -> QueueState:
        """The domain's fold of the facts, and the escalation the queue shows: an escalation is
        kept until an assignment moves the ticket to another level."""
        entry = envelope.history_entry
        facts = folded(None if state is None else state.facts, entry)
        position = envelope.position
        if state is None:
            return _state((facts, None, None, None, position))
        if entry.type == "Escalated":
            return _state((facts, entry.payload["reason"], entry.payload.get("target"),
                           entry.occurred_at, position))
        if entry.type == "Assigned" and facts.level != state.facts.level:
            return _state((facts, None, None, None, position))
        return _state((facts, state.escalation_reason, state.escalation_target,
                       state.escalated_at, position))

    def rows(self, state: QueueState) -> Mapping[str, Sequence[Row]]:
        """The ticket's queue row, if it has a place in a queue. A desk or plan missing from the
        catalogue raises: a configuration error, not bad data."""
        desk = self.catalogue.desk(state.facts.desk, state.facts.policy_version)
        report = sla_report(state.facts, desk, state.facts.last_occurred_at)
        row = queue_row(state, desk, report)
        return {"escalation_queue": () if row is None else (row,)}

    def state_row(self, state: QueueState) -> Row:
        at = None if state.escalated_at is None else format_time(state.escalated_at)
        return (id_text(state.facts.ticket_id), facts_text(state.facts), state.escalation_reason,
                state.escalation_target, at, state.position)

    def load_state(self, row: Row) -> QueueState:
        _, facts, reason, target, at, position = row
        return QueueState(facts_of(facts), reason, target, None if at is None else parse_time(at),
                          int(position))


def queues(
    store: ReadStore, now: datetime, limit_per_level: int = 100, levels: Sequence[str] = LEVELS,
    desks: Collection[str] | None = None,
) -> dict[str, list[QueueEntry]]:
    """Per level, the tickets at risk, breached, complained about or escalated at ``now``.

    Earliest due first (entries without a running clock last), at most ``limit_per_level`` each;
    only the tickets of ``desks`` when given (None: every desk).
    """
    at = format_time(now)
    sql, only = QUEUE_SQL, sorted(desks or ())
    if desks is not None and not only:
        return {level: [] for level in levels}
    if desks is not None:
        sql = QUEUE_SQL.replace(" ORDER BY", f" AND desk IN ({','.join('?' * len(only))}) ORDER BY")
    return {
        level: [QueueEntry.from_row(row, now)
                for row in store.read(sql, (level, at, *only, limit_per_level))]
        for level in levels
    }
