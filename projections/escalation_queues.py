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

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from tickets.domain.catalogue import Catalogue
from tickets.projections.base import Projection, SetAside
from tickets.projections.envelope import Envelope, format_time, parse_time
from tickets.projections.escalation_entry import COLUMNS, QueueEntry, QueueState, queue_row, step
from tickets.projections.facts_memo import facts_of, facts_text, sla_report
from tickets.projections.facts_state import fold_batch
from tickets.projections.readstore import Pending, ReadStore, Tx

__all__ = ["LEVELS", "EscalationQueuesProjection", "QueueEntry", "queues"]

#: The levels every shipped desk uses (the default of ``Desk.escalation_levels``), lowest first.
LEVELS = ("front_line", "level_2", "service_manager")
_STATE = "ticket_id, facts, escalation_reason, escalation_target, escalated_at, position"
#: One level's entries that need attention at ``now``: a range on the ``(level, attention_at)`` index.
QUEUE_SQL = (
    f"SELECT {', '.join(COLUMNS)} FROM escalation_queue WHERE level = ? AND attention_at <= ? "
    "ORDER BY due IS NULL, due, number LIMIT ?"
)


class EscalationQueuesProjection(Projection):
    name = "escalation_queues"
    ddl = (
        """CREATE TABLE IF NOT EXISTS escalation_queue_state (
            ticket_id TEXT PRIMARY KEY, facts TEXT NOT NULL, escalation_reason TEXT NULL,
            escalation_target TEXT NULL, escalated_at TEXT NULL, position BIGINT NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS escalation_queue (
            ticket_id TEXT PRIMARY KEY, number TEXT NOT NULL, desk TEXT NOT NULL,
            severity TEXT NOT NULL, level TEXT NOT NULL, kind TEXT NULL, due TEXT NULL,
            at_risk_at TEXT NULL, reason_base TEXT NOT NULL, attention_at TEXT NULL,
            position BIGINT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS escalation_queue_attention "
        "ON escalation_queue (level, attention_at)",
    )

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue

    def read_state(self, tx: Tx, ticket_ids: Sequence[str]) -> Pending:
        return tx.query_in(f"SELECT {_STATE} FROM escalation_queue_state WHERE ticket_id {{in}}", (),
                           ticket_ids)

    def apply(self, tx: Tx, batch: Sequence[Envelope], held: Pending | None = None) -> list[SetAside]:
        if held is None:
            held = self.read_state(tx, sorted({e.ticket_id for e in batch}))
        loaded = {row[0]: _load(row) for row in held.rows()}
        states, last, aside = fold_batch(loaded, batch, step)
        rows: list[tuple[Any, ...]] = []
        gone: list[tuple[str]] = []
        for ticket_id, envelope in sorted(last.items()):
            row = self._row(states[ticket_id], envelope)
            if row is None:
                gone.append((ticket_id,))
            else:
                rows.append(row)
        tx.executemany(
            f"INSERT INTO escalation_queue_state ({_STATE}) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (ticket_id) DO UPDATE SET facts = excluded.facts, "
            "escalation_reason = excluded.escalation_reason, "
            "escalation_target = excluded.escalation_target, "
            "escalated_at = excluded.escalated_at, position = excluded.position",
            [_dump(states[t], e.position) for t, e in sorted(last.items())],
        )
        tx.executemany("DELETE FROM escalation_queue WHERE ticket_id = ?", gone)
        tx.executemany(
            f"INSERT INTO escalation_queue ({', '.join(COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(COLUMNS))}) ON CONFLICT (ticket_id) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c != "ticket_id"),
            rows,
        )
        return aside

    def _row(self, state: QueueState, envelope: Envelope) -> tuple[Any, ...] | None:
        """A desk or plan missing from the catalogue raises: a configuration error, not bad data."""
        desk = self.catalogue.desk(state.facts.desk, state.facts.policy_version)
        report = sla_report(state.facts, desk, envelope.occurred)
        return queue_row(state, desk, report, envelope.position)


def _load(row: tuple[Any, ...]) -> QueueState:
    _, facts, reason, target, at, _ = row
    return QueueState(facts_of(facts), reason, target, None if at is None else parse_time(at))


def _dump(state: QueueState, position: int) -> tuple[Any, ...]:
    at = None if state.escalated_at is None else format_time(state.escalated_at)
    return (str(state.facts.ticket_id), facts_text(state.facts), state.escalation_reason,
            state.escalation_target, at, position)


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
