"""One ticket for people: its state, fields (masked by role) and SLA clocks with their timelines.

Each clock's ``timeline`` explains its past (from its start until now, or until it stopped) span
by span. A running clock not yet due also gets an ``outlook``: how the calendar counts the time
from now until its due time (business hours, nights, weekends, holidays), computed by the same
domain code as of the due time, so a picture can shade the future as well as the past.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tickets.application.desk import TicketDesk, summary
from tickets.domain.scope import EVERY_DESK, DeskScope
from tickets.domain.sla import SlaReport
from tickets.http.masking import fields_for, title_for
from tickets.output import clock_json, iso

#: The outlook reaches at most this far ahead (a paused or far-off clock is not explained to the end).
OUTLOOK_LIMIT = timedelta(days=31)


def _horizon(report: SlaReport, now: datetime) -> datetime | None:
    """The latest due time still ahead (at most ``OUTLOOK_LIMIT`` away), or None."""
    dues = [c.due for c in report.clocks if c.stopped_at is None and c.due is not None and c.due > now]
    return min(max(dues), now + OUTLOOK_LIMIT) if dues else None


def _outlook(ahead: SlaReport | None, kind: str, now: datetime) -> list[dict[str, Any]]:
    clock = ahead.clock(kind) if ahead is not None else None
    if clock is None or clock.stopped_at is not None:
        return []
    return [{"start": iso(max(i.start, now)), "end": iso(i.end), "counted": i.counted, "reason": i.reason}
            for i in clock.timeline if i.end > now]


def ticket_detail(desk: TicketDesk, ref: str, now: datetime, show_personal: bool,
                  desks: DeskScope = EVERY_DESK) -> dict[str, Any]:
    ticket = desk.get_within(ref, desks)
    report = desk.sla(ticket.id, now=now, explain=True)
    horizon = _horizon(report, now)
    ahead = desk.sla(ticket.id, now=horizon, explain=True) if horizon is not None else None
    policy = desk.catalogue.desk(ticket.desk, ticket.policy_version)
    clocks = []
    for clock in report.clocks:
        shown = clock_json(clock)
        ahead_of_due = clock.stopped_at is None and clock.due is not None and clock.due > now
        shown["outlook"] = _outlook(ahead, clock.kind, now) if ahead_of_due else []
        clocks.append(shown)
    return {
        **summary(ticket), "requester": ticket.requester, "requester_role": ticket.requester_role,
        "title": title_for(ticket.title, show_personal, desk.personal),
        "fields": fields_for(ticket.fields, show_personal, desk.personal),
        "policy": {"desk": policy.id, "name": policy.name, "version": policy.version,
                   "plan": ticket.plan},
        "computed_at": iso(report.computed_at), "sla": clocks,
    }
