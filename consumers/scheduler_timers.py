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

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from tickets.domain.catalogue import Catalogue
from tickets.domain.facts import TicketFacts, fold
from tickets.domain.sla import compute
from tickets.projections.base import Projection
from tickets.projections.facts_state import dump_facts, load_facts
from tickets.projections.readstore import ReadStore
from tickets.projections.schema import Row, Table
from tickets.projections.sla_timer_row import next_action
from tickets.wire.envelope import Envelope, format_time, parse_time

PartitionOf = Callable[[str], int]

_TEXT, _BIGINT = "TEXT NOT NULL", "BIGINT NOT NULL"
FACTS = Table("scheduler_timer_facts", (("ticket_id", _TEXT), ("facts", _TEXT), ("version", _BIGINT)),
              ("ticket_id",))
ACTIONS = Table(
    "scheduler_actions",
    (("ticket_id", _TEXT), ("kind", _TEXT), ("partition", _BIGINT), ("number", _TEXT),
     ("action", _TEXT), ("due_at", _TEXT), ("version", _BIGINT)),
    ("ticket_id", "kind"),
    ("CREATE INDEX IF NOT EXISTS scheduler_actions_due "
     "ON scheduler_actions (partition, due_at, ticket_id, kind)",),
)


@dataclass(frozen=True)
class DueAction:
    ticket_id: str
    number: str
    kind: str
    action: str
    at: datetime
    version: int


class SchedulerTimersProjection(Projection[TicketFacts]):
    name = "scheduler_timers"
    state_table = FACTS
    tables_declared = (ACTIONS,)

    def __init__(self, catalogue: Catalogue, partition_of: PartitionOf) -> None:
        self.catalogue = catalogue
        self.partition_of = partition_of

    def evolve(self, state: TicketFacts | None, envelope: Envelope) -> TicketFacts:
        return fold(state, envelope.history_entry)

    def rows(self, state: TicketFacts) -> Mapping[str, Sequence[Row]]:
        """The ticket's next actions, one per clock that has one."""
        desk = self.catalogue.desk(state.desk, state.policy_version)
        report = compute(state, desk, now=state.last_occurred_at)
        ticket_id = str(state.ticket_id)
        actions = []
        for clock in report.clocks:
            action = next_action(clock, state, desk)
            if action is not None:
                actions.append((ticket_id, clock.kind, self.partition_of(ticket_id), state.number,
                                action[0], format_time(action[1]), state.version))
        return {"scheduler_actions": actions}

    def state_row(self, state: TicketFacts) -> Row:
        return (str(state.ticket_id), dump_facts(state), state.version)

    def load_state(self, row: Row) -> TicketFacts:
        return load_facts(row[1])


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
