"""A ticket's state during a fast rebuild: folded once per event and shared by every projection.

The live projections each fold a ticket's facts on their own (so each can rebuild alone). A rebuild
of all of them folds once: the SLA timers, the escalation queues and the dashboard all keep the
domain's ``TicketFacts``, and the escalation queues add the latest escalation, which ``advance``
derives exactly as ``projections.escalation_entry.step`` does (an escalation is kept until an
assignment moves the ticket to another level). The queue's state is built from it once, when the
ticket's rows are. The rebuild tests compare every row with the live projections', so a drift
between the two shows at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tickets.domain.facts import TicketFacts, fold
from tickets.domain.history import HistoryEntry
from tickets.projections.dashboard_state import DashboardRow
from tickets.projections.escalation_entry import QueueState

#: (reason, target, when) of the latest escalation still in force.
Escalation = tuple[str | None, str | None, datetime | None]
NONE: Escalation = (None, None, None)


@dataclass
class TicketState:
    facts: TicketFacts
    escalation: Escalation
    position: int  # the log position of the last event folded in
    hash: str = ""  # the hash of the last event folded in (projection_versions keeps it)
    written: bool = False  # the ticket's rows are in the target already (from an earlier batch)
    dashboard: DashboardRow | None = None  # the dashboard row last written, for its counters

    @property
    def queue(self) -> QueueState:
        return QueueState(self.facts, *self.escalation)


def advance(state: TicketState | None, entry: HistoryEntry, position: int) -> TicketState:
    """Fold one event into the ticket's state (``FoldError`` and payload errors propagate)."""
    if state is None:
        return TicketState(fold(None, entry), NONE, position)
    before = state.facts
    facts = fold(before, entry)
    if entry.type == "Escalated":
        state.escalation = (entry.payload["reason"], entry.payload.get("target"), entry.occurred_at)
    elif entry.type == "Assigned" and facts.level != before.level:
        state.escalation = NONE
    state.facts = facts
    state.position = position
    return state
