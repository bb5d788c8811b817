"""The SLA clock of one ticket, computed purely from its facts, its desk policy and ``now``.

For each target (first response, next update, resolution or restore, auto-close) it gives the
due time, the business time used, the paused spans and the state, and on request the explained
timeline: each span says why it counted or not (open, outside hours, weekend, holiday, paused).

Which targets a ticket has is the desk's to say (``Desk.targets``): its severity's, measured on its
category's calendar when the category names one, and none when the plan promises them to other
requester roles only.

Rules written down here, since the pages leave them open:
- All targets run from the ticket's opening and use its *current* severity: a severity change
  re-targets from the ticket's start.
- The first response is met by the first agent reply, an information request included; it does
  not pause while the customer owes information (asking is itself the response).
- The resolution clock pauses while information is requested and not yet given ("action needed")
  and while the ticket is closed before a reopening; it stops when the ticket closes.
- The auto-close clock is at risk from the warning time (``warn_after``) and breached, that is
  due to close, at ``close_after``.
- A target whose ticket closed before it was met (no reply, or closed by the requester before any
  response) is ``cancelled``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from tickets.domain.calendar import BusinessCalendar, Interval, Pause
from tickets.domain.facts import TicketFacts
from tickets.domain.policy import Desk, Target, TargetKind

AUTO_CLOSE = "auto_close"


class ClockState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    AT_RISK = "at_risk"
    MET = "met"
    BREACHED = "breached"
    CANCELLED = "cancelled"


ACTIVE_STATES = frozenset({ClockState.RUNNING, ClockState.PAUSED, ClockState.AT_RISK})


@dataclass(frozen=True)
class TargetClock:
    kind: str
    target: timedelta
    target_text: str
    calendar: str
    calendar_version: int
    policy_version: int
    start: datetime
    due: datetime | None  # None while paused: the due time moves when the pause ends
    at_risk_at: datetime | None
    stopped_at: datetime | None
    used: timedelta
    state: ClockState
    pauses: tuple[Pause, ...]
    timeline: tuple[Interval, ...] = ()

    @property
    def remaining(self) -> timedelta:
        return max(self.target - self.used, timedelta(0))

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES


@dataclass(frozen=True)
class SlaReport:
    ticket_id: str
    number: str
    desk: str
    severity: str
    policy_version: int
    computed_at: datetime
    clocks: tuple[TargetClock, ...]

    def clock(self, kind: str) -> TargetClock | None:
        return next((c for c in self.clocks if c.kind == kind), None)


def _close_pauses(pauses: tuple[Pause, ...], now: datetime) -> tuple[tuple[datetime, datetime], ...]:
    return tuple((s, e if e is not None else max(s, now)) for s, e in pauses if s < now)


def _target_clock(
    kind: str, target: Target, start: datetime, stop: datetime | None, cancelled: bool,
    pauses: tuple[Pause, ...], desk: Desk, now: datetime, explain: bool,
) -> TargetClock:
    cal: BusinessCalendar = target.calendar
    end = stop if stop is not None else now
    closed_pauses = _close_pauses(pauses, end)
    paused_now = stop is None and any(e is None and s <= now for s, e in pauses)
    used = cal.business_time(start, end, closed_pauses) if end > start else timedelta(0)
    due: datetime | None = None
    at_risk_at: datetime | None = None
    if not paused_now:
        due = cal.add(start, target.duration, closed_pauses)
        at_risk_at = cal.add(start, target.duration * desk.warning_threshold, closed_pauses)
    if stop is not None:
        if cancelled:
            state = ClockState.CANCELLED
        else:
            state = ClockState.MET if used <= target.duration else ClockState.BREACHED
    elif (used >= target.duration and target.duration > timedelta(0)) or (
        due is not None and now >= due
    ):
        state = ClockState.BREACHED
    elif paused_now:
        state = ClockState.PAUSED
    elif used >= target.duration * desk.warning_threshold:
        state = ClockState.AT_RISK
    else:
        state = ClockState.RUNNING
    timeline = tuple(cal.explain(start, end, closed_pauses)) if explain and end > start else ()
    return _made(TargetClock, {
        "kind": kind, "target": target.duration, "target_text": target.text, "calendar": cal.name,
        "calendar_version": cal.version, "policy_version": desk.version, "start": start,
        "due": due, "at_risk_at": at_risk_at, "stopped_at": stop, "used": used, "state": state,
        "pauses": tuple(pauses), "timeline": timeline,
    })


_T = TypeVar("_T")


def _made(cls: type[_T], fields: dict[str, object]) -> _T:
    """``cls(**fields)`` for a frozen dataclass without ``__post_init__``, given every field, without
    its ``__init__`` (setting fields one by one through ``object.__setattr__`` cost more than the rest
    of a clock's arithmetic: every ticket a projection moves gets its clocks computed)."""
    made = object.__new__(cls)
    made.__dict__.update(fields)
    return made


def compute(facts: TicketFacts, desk: Desk, now: datetime, *, explain: bool = False) -> SlaReport:
    """The ticket's clocks as of ``now`` (``now`` never earlier than the last event counts)."""
    now = max(now, facts.last_occurred_at)
    targets = desk.targets(facts.plan, facts.category, facts.severity, facts.requester_role)
    closed = facts.status == "closed"
    clocks: list[TargetClock] = []

    first = targets.get(TargetKind.FIRST_RESPONSE)
    if first is not None:
        stop = facts.first_response_at or (facts.closed_at if closed else None)
        clocks.append(_target_clock(
            first.kind, first, facts.opened_at, stop,
            cancelled=facts.first_response_at is None and closed, pauses=(), desk=desk, now=now,
            explain=explain,
        ))

    update = targets.get(TargetKind.NEXT_UPDATE)
    if update is not None and not closed:
        start = facts.last_agent_reply_at or facts.opened_at
        pauses = tuple(p for p in facts.info_pauses if p[1] is None or p[1] > start)
        clocks.append(_target_clock(
            update.kind, update, start, None, cancelled=False, pauses=pauses, desk=desk, now=now,
            explain=explain,
        ))

    resolution = targets.get(TargetKind.RESOLUTION)
    if resolution is not None:
        pauses = facts.info_pauses + tuple(s for s in facts.closed_spans if s[1] is not None)
        clocks.append(_target_clock(
            resolution.kind, resolution, facts.opened_at, facts.closed_at if closed else None,
            cancelled=closed and facts.close_reason == "no_reply",
            pauses=tuple(sorted(pauses, key=lambda p: p[0])), desk=desk, now=now, explain=explain,
        ))

    if facts.pending_since is not None and not closed:
        rule = desk.inactivity
        auto = Target(TargetKind.RESOLUTION, rule.close_after, rule.calendar, rule.close_text)
        clock = _target_clock(
            AUTO_CLOSE, auto, facts.pending_since, None, cancelled=False, pauses=(), desk=desk,
            now=now, explain=explain,
        )
        warn_at = rule.calendar.add(facts.pending_since, rule.warn_after)
        state = clock.state
        if state in (ClockState.RUNNING, ClockState.AT_RISK):
            state = ClockState.AT_RISK if now >= warn_at else ClockState.RUNNING
        clocks.append(_made(TargetClock, {**clock.__dict__, "at_risk_at": warn_at, "state": state}))

    return _made(SlaReport, {
        "ticket_id": str(facts.ticket_id), "number": facts.number, "desk": facts.desk,
        "severity": facts.severity, "policy_version": desk.version, "computed_at": now,
        "clocks": tuple(clocks),
    })
