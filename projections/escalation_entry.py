"""The escalation queues' pure part: a ticket's state, its queue row, and how an entry reads at a time.

State per ticket is its ``TicketFacts`` plus its latest escalation (reason, target, time), which
the facts do not keep but the queue shows ("breach of first_response", "escalated by hand");
``projections.escalation_queues`` evolves it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from tickets.domain.facts import TicketFacts
from tickets.domain.policy import Desk
from tickets.domain.sla import AUTO_CLOSE, SlaReport
from tickets.projections.facts_state import id_text, time_text
from tickets.wire.envelope import parse_time

COLUMNS = (
    "ticket_id", "number", "desk", "severity", "level", "kind", "due", "at_risk_at",
    "reason_base", "attention_at", "position",
)
_BASE = {"by_hand": "escalated by hand", "rule": "escalated by rule", "complaint": "complaint"}


class QueueState(NamedTuple):
    """A ticket as the queues keep it: its facts, its latest escalation still in force (which the
    facts do not keep but the queue shows: "breach of first_response", "escalated by hand"), and
    the log position of its last event."""

    facts: TicketFacts
    escalation_reason: str | None = None
    escalation_target: str | None = None
    escalated_at: datetime | None = None
    position: int = 0


def reason_base(state: QueueState) -> str:
    """Why the ticket is in its queue apart from its clock: "complaint", the escalation, or "sla"."""
    if state.facts.complaint:
        return "complaint"
    reason, target = state.escalation_reason, state.escalation_target
    if reason is None:
        return "sla"
    if target:
        return f"{reason} of {target}"
    return _BASE.get(reason, reason)


def queue_row(state: QueueState, desk: Desk, report: SlaReport) -> tuple[Any, ...] | None:
    """The ticket's row in ``COLUMNS`` order, or None when it has no place in any queue.

    A row holds the running SLA clock with the earliest deadline (paused clocks, with no due time,
    last). ``attention_at`` is when the row enters its level's queue: at once for a complaint or an
    escalation, else when its clock turns at risk.
    """
    facts = state.facts
    if facts.status == "closed":
        return None
    base = reason_base(state)
    running = [c for c in report.clocks if c.kind != AUTO_CLOSE and c.stopped_at is None]
    clock = min(running, key=lambda c: (c.due is None, c.due or c.start), default=None)
    if clock is None and base == "sla":
        return None
    level = desk.escalation_levels[-1] if facts.complaint else facts.level
    attention = state.escalated_at if base != "sla" else (clock.at_risk_at if clock else None)
    return (
        id_text(facts.ticket_id), facts.number, facts.desk, facts.severity, level,
        clock.kind if clock else None, _text(clock.due if clock else None),
        _text(clock.at_risk_at if clock else None), base, _text(attention), state.position,
    )


def _text(value: datetime | None) -> str | None:
    return None if value is None else time_text(value)


def _minute(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%MZ")


def _reading(
    kind: str | None, due: datetime | None, at_risk_at: datetime | None, now: datetime
) -> tuple[str | None, str]:
    """("breached" | "at_risk" | None, the words for people) for a row's clock at ``now``."""
    if due is None:
        return None, ""
    if now >= due:
        return "breached", f"{kind} breached {_minute(due)}"
    if at_risk_at is not None and now >= at_risk_at:
        return "at_risk", f"{kind} at risk, due {_minute(due)}"
    return None, ""


@dataclass(frozen=True)
class QueueEntry:
    ticket_id: str
    number: str
    desk: str
    severity: str
    level: str
    kind: str | None  # the running SLA clock with the earliest deadline, if any
    due: datetime | None
    at_risk_at: datetime | None
    reason_base: str
    state: str  # complaint | breached | at_risk | escalated
    reason: str  # for people, e.g. "first_response breached 2026-11-16T10:00Z"

    @classmethod
    def from_row(cls, row: tuple[Any, ...], now: datetime) -> QueueEntry:
        values = dict(zip(COLUMNS, row, strict=True))
        due = None if values["due"] is None else parse_time(values["due"])
        at_risk_at = None if values["at_risk_at"] is None else parse_time(values["at_risk_at"])
        kind, base = values["kind"], values["reason_base"]
        clock_state, clock = _reading(kind, due, at_risk_at, now)
        state = "complaint" if base == "complaint" else clock_state or "escalated"
        reason = "; ".join(part for part in (base if base != "sla" else "", clock) if part)
        return cls(
            ticket_id=values["ticket_id"], number=values["number"], desk=values["desk"],
            severity=values["severity"], level=values["level"], kind=kind, due=due,
            at_risk_at=at_risk_at, reason_base=base, state=state, reason=reason,
        )
