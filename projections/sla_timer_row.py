"""One row of ``sla_timers``: a ticket's SLA clock as of its last event, and what the scheduler does next.

The rows are built from the domain's own ``SlaReport`` (``domain.sla.compute``): this module
adds no time arithmetic of its own, only the choice of the next action for each clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tickets.domain.facts import TicketFacts
from tickets.domain.policy import Desk, TargetKind
from tickets.domain.sla import AUTO_CLOSE, ClockState, SlaReport, TargetClock
from tickets.projections.facts_state import id_text, time_text
from tickets.wire.envelope import parse_time

#: Every kind of clock a ticket can have; a kind missing from a ticket's report has no row.
KINDS = (*(kind.value for kind in TargetKind), AUTO_CLOSE)

COLUMNS = (
    "ticket_id", "kind", "number", "desk", "plan", "severity", "level", "ticket_status", "state",
    "start_at", "due", "at_risk_at", "stopped_at", "used_seconds", "target_seconds", "calendar",
    "calendar_version", "policy_version", "next_action", "next_action_at", "position",
)


@dataclass(frozen=True)
class TimerRow:
    ticket_id: str
    kind: str
    number: str
    desk: str
    plan: str
    severity: str
    level: str
    ticket_status: str
    state: ClockState  # as of the ticket's last event; see ``state_now``
    start_at: datetime
    due: datetime | None  # None while paused
    at_risk_at: datetime | None  # for auto_close: when the requester is warned
    stopped_at: datetime | None
    used_seconds: float
    target_seconds: float
    calendar: str
    calendar_version: int
    policy_version: int
    next_action: str | None
    next_action_at: datetime | None
    position: int

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> TimerRow:
        values = dict(zip(COLUMNS, row, strict=True))
        for name in ("start_at", "due", "at_risk_at", "stopped_at", "next_action_at"):
            values[name] = None if values[name] is None else parse_time(values[name])
        values["state"] = ClockState(values["state"])
        for name in ("calendar_version", "policy_version", "position"):
            values[name] = int(values[name])
        for name in ("used_seconds", "target_seconds"):
            values[name] = float(values[name])
        return cls(**values)


def next_action(clock: TargetClock, facts: TicketFacts, desk: Desk) -> tuple[str, datetime] | None:
    """What the scheduler must do next for this clock, and when; None when nothing is left to do.

    Only a plan with ``auto_escalation`` has its tickets escalated by the scheduler: at risk,
    then at breach. On any other plan a breach is recorded and shown (the clock's state in this
    row, the escalation queues, the dashboard and its metric, the ticket's timeline) for a person
    to act on, and nothing is scheduled for it. A ticket already at the desk's top level (a
    complaint puts it there) cannot be escalated: the domain refuses, so no escalation is
    scheduled that would sit at the head of the scheduler's query for ever.
    """
    if clock.kind == AUTO_CLOSE:
        if facts.warned_at is None:
            return _action("warn_auto_close", clock.at_risk_at)
        return _action("close_no_reply", clock.due)
    if clock.stopped_at is not None or clock.due is None:
        return None  # met, cancelled, breached and stopped, or paused: the due time is not known
    if not desk.plan(facts.plan).auto_escalation:
        return None
    if facts.level == desk.escalation_levels[-1]:
        return None
    if f"at_risk:{clock.kind}" not in facts.escalated_for:
        return _action("escalate_at_risk", clock.at_risk_at)
    if f"breach:{clock.kind}" not in facts.escalated_for:
        return _action("escalate_breach", clock.due)
    return None


def _action(name: str, at: datetime | None) -> tuple[str, datetime] | None:
    return None if at is None else (name, at)


def _text(value: datetime | None) -> str | None:
    return None if value is None else time_text(value)


def timer_rows(
    facts: TicketFacts, report: SlaReport, desk: Desk, position: int
) -> list[tuple[Any, ...]]:
    """The ``sla_timers`` rows of one ticket, in ``COLUMNS`` order, one per clock in the report."""
    rows = []
    for clock in report.clocks:
        action = next_action(clock, facts, desk)
        rows.append((
            id_text(facts.ticket_id), clock.kind, facts.number, facts.desk, facts.plan, facts.severity,
            facts.level, facts.status, clock.state.value, time_text(clock.start),
            _text(clock.due), _text(clock.at_risk_at), _text(clock.stopped_at),
            clock.used.total_seconds(), clock.target.total_seconds(), clock.calendar,
            clock.calendar_version, clock.policy_version, action[0] if action else None,
            time_text(action[1]) if action else None, position,
        ))
    return rows


def state_now(row: TimerRow, now: datetime) -> ClockState:
    """The row's state re-derived at ``now``: running turns at risk, then breached, as time passes.

    Only moves forward in time from the stored state; stopped and paused clocks keep theirs.
    """
    if row.stopped_at is not None or row.due is None:
        return row.state
    if now >= row.due:
        return ClockState.BREACHED
    if row.at_risk_at is not None and now >= row.at_risk_at and row.state is ClockState.RUNNING:
        return ClockState.AT_RISK
    return row.state
