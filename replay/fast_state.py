"""A ticket's state during a fast rebuild: folded once per event and shared by every projection.

The live projections each fold a ticket's facts on their own (so each can rebuild alone). A rebuild
of all of them folds once: the SLA timers, the escalation queues and the dashboard all keep the
domain's ``TicketFacts``, and the escalation queues add the latest escalation, which
``queue_state`` derives exactly as ``projections.escalation_entry.step`` does. The rebuild tests
compare every row with the live projections', so a drift between the two shows at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.facts import TicketFacts, fold
from domain.history import HistoryEntry
from projections.dashboard_state import DashboardRow
from projections.escalation_entry import QueueState


@dataclass
class TicketState:
    facts: TicketFacts
    queue: QueueState
    position: int  # the log position of the last event folded in
    written: bool = False  # the ticket's rows are in the target already (from an earlier batch)
    dashboard: DashboardRow | None = None  # the dashboard row last written, for its counters


def queue_state(before: QueueState | None, facts: TicketFacts, entry: HistoryEntry) -> QueueState:
    """``escalation_entry.step`` on facts already folded: an escalation is kept until an
    assignment moves the ticket to another level."""
    if before is None:
        return QueueState(facts)
    if entry.type == "Escalated":
        return QueueState(facts, entry.payload["reason"], entry.payload.get("target"),
                          entry.occurred_at)
    if entry.type == "Assigned" and facts.level != before.facts.level:
        return QueueState(facts)
    return QueueState(facts, before.escalation_reason, before.escalation_target,
                      before.escalated_at)


def advance(state: TicketState | None, entry: HistoryEntry, position: int) -> TicketState:
    """Fold one event into the ticket's state (``FoldError`` and payload errors propagate)."""
    if state is None:
        facts = fold(None, entry)
        return TicketState(facts, queue_state(None, facts, entry), position)
    facts = fold(state.facts, entry)
    state.queue = queue_state(state.queue, facts, entry)
    state.facts = facts
    state.position = position
    return state
