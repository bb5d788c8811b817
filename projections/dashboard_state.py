"""The dashboard's row for one ticket, derived from its facts, and what the row adds to the counters.

Each ticket counts once in the SLA figures, by its worst clock: breached, then at risk, then
running, then met. The auto-close countdown is not an SLA promise, and cancelled targets count
nowhere. A ticket whose SLA state cannot change until its next event (every counted clock stopped
or paused, or one already breached) is *static*: its state is stored and counted in
``dashboard_counts``. A ticket with a running clock is *live*: it stores when it turns at risk and
when it breaches, and the figures compare those with the query's ``now``, so they are right
without an event.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tickets.domain.facts import TicketFacts
from tickets.domain.policy import Desk, TargetKind
from tickets.domain.sla import AUTO_CLOSE, ClockState, SlaReport, TargetClock
from tickets.projections.facts_memo import sla_report
from tickets.projections.facts_state import id_text, time_text

#: First-response times are counted in buckets four to a doubling, to find percentile ranks fast.
BUCKETS_PER_DOUBLING = 4
ROW_COLUMNS = ("ticket_id", "desk", "severity", "status", "first_response_seconds", "fr_bucket",
               "sla_static", "risk_at", "breach_at")
CountKey = tuple[str, str, str, str]  # (kind, desk, severity, key)


def day_of(time_text: str) -> str:
    """``2026-11-16`` of ``2026-11-16T10:30:00.000000Z``: live tickets are counted by day..."""
    return time_text[:10]


def hour_of(time_text: str) -> str:
    """... and by hour (``2026-11-16T10``), so a count up to any time reads few rows."""
    return time_text[:13]


def fr_bucket(seconds: float) -> int:
    return math.floor(math.log2(seconds + 1) * BUCKETS_PER_DOUBLING)


@dataclass(frozen=True)
class DashboardRow:
    """One ticket as the figures count it (times are ISO text, so text order is time order)."""

    ticket_id: str
    desk: str
    severity: str
    status: str
    first_response_seconds: float | None
    sla_static: str | None  # "met", "breached" or "running" (paused) when the state is fixed
    risk_at: str | None  # live tickets: at risk from then on (until breach_at)
    breach_at: str | None  # live tickets: breached from then on

    @classmethod
    def from_values(cls, values: tuple[Any, ...]) -> DashboardRow:
        ticket_id, desk, severity, status, seconds, _, static, risk_at, breach_at = values
        return _row(ticket_id, desk, severity, status,
                    None if seconds is None else float(seconds), static, risk_at, breach_at)

    def values(self) -> tuple[Any, ...]:
        seconds = self.first_response_seconds
        bucket = None if seconds is None else fr_bucket(seconds)
        return (self.ticket_id, self.desk, self.severity, self.status, seconds, bucket,
                self.sla_static, self.risk_at, self.breach_at)

    def counts(self) -> list[CountKey]:
        """The counters this ticket adds one to."""
        group = (self.desk, self.severity)
        keys: list[CountKey] = []
        if self.status != "closed":
            keys.append(("status", *group, self.status))
        if self.sla_static is not None:
            keys.append(("sla", *group, self.sla_static))
        if self.risk_at is not None and self.breach_at is not None:
            keys.append(("live", *group, ""))
            for kind, at in (("risk", self.risk_at), ("breach", self.breach_at)):
                keys.append((f"{kind}_day", *group, day_of(at)))
                keys.append((f"{kind}_hour", *group, hour_of(at)))
        if self.first_response_seconds is not None:
            keys.append(("first_response", *group, str(fr_bucket(self.first_response_seconds))))
        return keys


def _sla(clocks: list[TargetClock]) -> tuple[str | None, datetime | None, datetime | None]:
    """(static state, at risk at, breaches at) of the counted clocks."""
    if any(c.state is ClockState.BREACHED for c in clocks):
        return "breached", None, None
    running = [c for c in clocks if c.stopped_at is None and c.due is not None]
    if running:
        breach = min(c.due for c in running if c.due is not None)
        risk = min((c.at_risk_at for c in running if c.at_risk_at is not None), default=breach)
        return None, min(risk, breach), breach
    if any(c.stopped_at is None for c in clocks):
        return "running", None, None  # paused: no due time until the customer replies
    if any(c.state is ClockState.MET for c in clocks):
        return "met", None, None
    return None, None, None


def dashboard_row(facts: TicketFacts, desk: Desk, report: SlaReport | None = None) -> DashboardRow:
    """The row as of the ticket's last event; states that move with time are left to the query.

    ``report``: the ticket's clocks as of its last event, when the caller has them already.
    """
    if report is None:
        report = sla_report(facts, desk, facts.last_occurred_at)
    counted = [c for c in report.clocks
               if c.kind != AUTO_CLOSE and c.state is not ClockState.CANCELLED]
    first = next((c for c in counted if c.kind == TargetKind.FIRST_RESPONSE), None)
    seconds = first.used.total_seconds() if first is not None and first.stopped_at else None
    static, risk, breach = _sla(counted)
    return _row(id_text(facts.ticket_id), facts.desk, facts.severity, facts.status, seconds, static,
                None if risk is None else time_text(risk),
                None if breach is None else time_text(breach))


def _row(ticket_id: str, desk: str, severity: str, status: str, seconds: float | None,
         static: str | None, risk_at: str | None, breach_at: str | None) -> DashboardRow:
    """``DashboardRow(...)`` without the frozen dataclass's ``__init__`` (every moved ticket makes
    one for its row and one per row counted)."""
    row = object.__new__(DashboardRow)
    row.__dict__.update(ticket_id=ticket_id, desk=desk, severity=severity, status=status,
                        first_response_seconds=seconds, sla_static=static, risk_at=risk_at,
                        breach_at=breach_at)
    return row
