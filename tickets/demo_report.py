"""What ``tickets demo`` prints: totals, the dashboard, the queues, and one ticket closed across a holiday."""

from __future__ import annotations

from typing import Any

from tickets.demo_run import AMSTERDAM, HOLIDAY, DemoRun
from tickets.domain.facts import fold_all
from tickets.domain.sla import compute
from tickets.engine_views import (
    figures_json,
    figures_text,
    queues_json,
    queues_text,
    totals,
    trail_json,
    trail_text,
)
from tickets.output import iso, sla_json, sla_text
from tickets.projections.audit_trail import trail
from tickets.projections.dashboard import figures
from tickets.projections.escalation_queues import queues

NL_CALENDAR_DESKS = ("nl-vendor", "zoom")


def closed_across_holiday(run: DemoRun) -> str | None:
    """A ticket auto-closed after a countdown that spanned King's Day (a nl-vendor one if any)."""
    found: list[tuple[int, int, str]] = []
    desk = run.engine.desk
    for index, number in sorted(run.world.numbers.items()):
        facts = desk.facts(number)
        if facts.close_reason != "no_reply" or facts.closed_at is None or not facts.info_pauses:
            continue
        asked = facts.info_pauses[-1][0].astimezone(AMSTERDAM).date()
        closed = facts.closed_at.astimezone(AMSTERDAM).date()
        if asked < HOLIDAY < closed:
            rank = NL_CALENDAR_DESKS.index(facts.desk) if facts.desk in NL_CALENDAR_DESKS else 9
            found.append((rank, index, number))
    return min(found)[2] if found else None


def _example(run: DemoRun, number: str) -> dict[str, Any]:
    desk = run.engine.desk
    ticket = desk.get(number)
    entries = [e.masked() for e in trail(run.engine.store, ticket_id=ticket.id)]
    closed_at = ticket.closed_at or run.end
    before_close = fold_all(desk.history(number, until_version=ticket.version - 1))
    policy = desk.catalogue.desk(before_close.desk, before_close.policy_version)
    countdown = compute(before_close, policy, closed_at, explain=True)
    return {"ticket": number, "desk": ticket.desk, "closed_at": iso(closed_at), "audit": entries,
            "countdown": countdown, "sla": desk.sla(number, now=closed_at, explain=True)}


def report(run: DemoRun, *, as_json: bool) -> Any:
    store = run.engine.store
    figs = figures(store, run.end)
    found = queues(store, run.end, limit_per_level=100 if as_json else 8)
    number = closed_across_holiday(run)
    example = _example(run, number) if number is not None else None
    fired = dict(sorted(run.fired.items()))
    commands = run.world.summary()
    summary: dict[str, Any] = {
        "home": str(run.home), "seed": run.seed, "tickets": run.tickets,
        "start": iso(run.start), "end": iso(run.end),
        "events": run.engine.reader.max_position(),
        "commands": commands, "scheduler": fired,
        "auto_closed": run.fired["close_no_reply:fired"],
        "warned": run.fired["warn_auto_close:fired"],
        "escalated_breach": run.fired["escalate_breach:fired"],
        "escalated_at_risk": run.fired["escalate_at_risk:fired"],
        "totals": totals(figs),
    }
    if as_json:
        return {**summary, "dashboard": figures_json(figs), "queues": queues_json(found),
                "example": None if example is None else {
                    "ticket": example["ticket"], "desk": example["desk"],
                    "closed_at": example["closed_at"], "audit": trail_json(example["audit"]),
                    "countdown": sla_json(example["countdown"]), "sla": sla_json(example["sla"])}}
    lines = [
        f"Simulated {summary['start']} to {summary['end']}: seed {run.seed}, {run.tickets} tickets, "
        f"{summary['events']} events (data in {run.home})",
        "Commands: " + ", ".join(f"{k} {v}" for k, v in commands["done"].items()),
        "Refused (the desk re-checks every command): "
        + (", ".join(f"{k} {v}" for k, v in commands["refused"].items()) or "none"),
        "Scheduler: " + ", ".join(f"{k} {v}" for k, v in fired.items()),
        "", "== Dashboard ==", figures_text(figs),
        "", "== Escalation queues (first 8 per level) ==", queues_text(found),
    ]
    if example is None:
        lines += ["", "(no ticket was auto-closed across King's Day in this run)"]
    else:
        lines += [
            "", f"== {example['ticket']} ({example['desk']}): closed for no reply on "
            f"{example['closed_at']}, its countdown spanning King's Day ==",
            "Audit trail (contact details masked):", trail_text(example["audit"]),
            "The auto-close countdown just before it closed:", sla_text(example["countdown"]),
            "SLA clocks once closed:", sla_text(example["sla"]),
        ]
    return "\n".join(lines)
