"""The scheduler group's own timer state: each ticket's next actions, tagged with the ticket's partition.

A scheduler group member consumes ``tickets.events`` for the partitions it is assigned and keeps
this projection (tables ``scheduler_timer_facts`` and ``scheduler_actions``) with its offsets, in
one transaction per batch like any projection. It fires only the actions of tickets on partitions it
owns, found through the ``(partition, due_at)`` index, so two members never fire the same timer,
and its view of a ticket is exactly as fresh as what it has consumed of that ticket's partition.

The next action and its time are the SLA timers projection's own (``projections.sla_timer_row``
over the domain's ``compute``); only where they are kept differs. ``version`` is the ticket's
version the row was computed at: the scheduler knows a command it sent has been seen once the
row's version passes the version the command produced.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tickets.domain.catalogue import Catalogue
from tickets.domain.facts import TicketFacts, fold
from tickets.domain.sla import compute
from tickets.projections.base import Projection, SetAside
from tickets.projections.envelope import Envelope, format_time, parse_time
from tickets.projections.facts_state import dump_facts, fold_batch, load_facts
from tickets.projections.readstore import Pending, ReadStore, Tx
from tickets.projections.sla_timer_row import next_action

PartitionOf = Callable[[str], int]


@dataclass(frozen=True)
class DueAction:
    ticket_id: str
    number: str
    kind: str
    action: str
    at: datetime
    version: int


class SchedulerTimersProjection(Projection):
    name = "scheduler_timers"
    ddl = (
        """CREATE TABLE IF NOT EXISTS scheduler_timer_facts (
            ticket_id TEXT PRIMARY KEY, facts TEXT NOT NULL, version BIGINT NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS scheduler_actions (
            ticket_id TEXT NOT NULL, kind TEXT NOT NULL, partition BIGINT NOT NULL,
            number TEXT NOT NULL, action TEXT NOT NULL, due_at TEXT NOT NULL,
            version BIGINT NOT NULL, PRIMARY KEY (ticket_id, kind))""",
        "CREATE INDEX IF NOT EXISTS scheduler_actions_due "
        "ON scheduler_actions (partition, due_at, ticket_id, kind)",
    )

    def __init__(self, catalogue: Catalogue, partition_of: PartitionOf) -> None:
        self.catalogue = catalogue
        self.partition_of = partition_of

    def read_state(self, tx: Tx, ticket_ids: Sequence[str]) -> Pending:
        return tx.query_in("SELECT ticket_id, facts FROM scheduler_timer_facts WHERE ticket_id {in}", (),
                           ticket_ids)

    def apply(self, tx: Tx, batch: Sequence[Envelope], held: Pending | None = None) -> list[SetAside]:
        if held is None:
            held = self.read_state(tx, sorted({e.ticket_id for e in batch}))
        facts = {t: load_facts(text) for t, text in held.rows()}
        folded, last, aside = fold_batch(facts, batch, _step)
        touched = sorted(last)
        tx.executemany(
            "INSERT INTO scheduler_timer_facts (ticket_id, facts, version) VALUES (?, ?, ?) "
            "ON CONFLICT (ticket_id) DO UPDATE SET facts = excluded.facts, version = excluded.version",
            [(t, dump_facts(folded[t]), last[t].version) for t in touched],
        )
        tx.executemany("DELETE FROM scheduler_actions WHERE ticket_id = ?", [(t,) for t in touched])
        tx.executemany(
            "INSERT INTO scheduler_actions (ticket_id, kind, partition, number, action, due_at, version) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [row for t in touched for row in self._rows(folded[t], last[t])],
        )
        return aside

    def _rows(self, facts: TicketFacts, envelope: Envelope) -> list[tuple[Any, ...]]:
        desk = self.catalogue.desk(facts.desk, facts.policy_version)
        report = compute(facts, desk, now=envelope.occurred)
        rows = []
        for clock in report.clocks:
            action = next_action(clock, facts, desk)
            if action is not None:
                rows.append((envelope.ticket_id, clock.kind, self.partition_of(envelope.ticket_id),
                              facts.number, action[0], format_time(action[1]), envelope.version))
        return rows


def _step(facts: TicketFacts | None, envelope: Envelope) -> TicketFacts:
    return fold(facts, envelope.entry())


def due_actions(store: ReadStore, partitions: Iterable[int], now: datetime, limit: int) -> list[DueAction]:
    """Actions due at or before ``now`` on the given partitions, earliest first."""
    owned = sorted(set(partitions))
    if not owned:
        return []
    marks = ",".join("?" * len(owned))
    rows = store.read(
        "SELECT ticket_id, number, kind, action, due_at, version FROM scheduler_actions "
        f"WHERE partition IN ({marks}) AND due_at <= ? ORDER BY due_at, ticket_id, kind LIMIT ?",
        (*owned, format_time(now), limit),
    )
    return [DueAction(t, n, k, a, parse_time(at), int(v)) for t, n, k, a, at, v in rows]


def versions_of(store: ReadStore, ticket_ids: Sequence[str]) -> dict[str, int]:
    """The version each ticket's actions were computed at."""
    found: dict[str, int] = {}
    for start in range(0, len(ticket_ids), 500):
        part = ticket_ids[start:start + 500]
        marks = ",".join("?" * len(part))
        found.update({t: int(v) for t, v in store.read(
            f"SELECT ticket_id, version FROM scheduler_timer_facts WHERE ticket_id IN ({marks})", part)})
    return found
