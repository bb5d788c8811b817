"""A scripted walk through one ticket's life on the embedded store, printing its SLA timeline.

The ticket is opened on the Dutch vendor desk just before Easter 2026, so its auto-close
countdown has to step over Good Friday's weekend and Easter Monday.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tickets.application.desk import summary
from tickets.config import Settings
from tickets.domain.actor import SCHEDULER, Actor
from tickets.output import iso, sla_json, sla_text
from tickets.wiring import build_desk


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def walk(settings: Settings, *, as_json: bool = False) -> Any:
    desk = build_desk(settings)
    agent = Actor("agent", "a-1042")
    customer = Actor("customer", "c-7731")
    opened = desk.open(
        desk="nl-vendor", requester=customer.id, requester_role="user", title="Export stops",
        fields={"product": "payroll"}, actor=Actor("service", "chat"), channel="chat",
        severity="high", at=_t("2026-04-02T15:00:00+02:00"),
    )
    steps: list[tuple[str, str]] = [("opened", iso(_t("2026-04-02T15:00:00+02:00")) or "")]

    def step(label: str, when: str, call: Any) -> None:
        call(at=_t(when))
        steps.append((label, iso(_t(when)) or ""))

    n = opened.number
    step("assigned", "2026-04-02T15:10:00+02:00",
         lambda at: desk.assign(n, agent.id, actor=agent, at=at))
    step("responded", "2026-04-02T16:00:00+02:00", lambda at: desk.respond(n, actor=agent, at=at))
    step("info requested", "2026-04-03T10:00:00+02:00",
         lambda at: desk.request_info(n, actor=agent, at=at))
    ticket = desk.get(n)
    policy = desk.catalogue.desk(ticket.desk, ticket.policy_version)
    warn_at, close_at = ticket.auto_close_due(policy) or (None, None)
    assert warn_at is not None and close_at is not None
    countdown = desk.sla(n, now=warn_at, explain=True)
    step("auto-close warned", iso(warn_at) or "",
         lambda at: desk.warn_auto_close(n, actor=SCHEDULER, at=at))
    step("closed: no reply", iso(close_at) or "",
         lambda at: desk.close_ticket(n, "no_reply", actor=SCHEDULER, channel="scheduler", at=at))
    report = desk.sla(n, now=close_at, explain=True)
    if as_json:
        return {"ticket": summary(desk.get(n)), "steps": steps, "sla": sla_json(report),
                "sla_at_warning": sla_json(countdown)}
    lines = [f"Ticket {n} on desk nl-vendor (Mon-Fri 09:00-17:00 Europe/Amsterdam, NL holidays)"]
    lines += [f"  {when:<26} {label}" for label, when in steps]
    lines.append(f"SLA clocks as of the warning ({iso(warn_at)}), and why each span counted or not:")
    lines.append(sla_text(countdown))
    lines.append(f"SLA clocks once closed ({iso(close_at)}):")
    lines.append(sla_text(report))
    return "\n".join(lines)
