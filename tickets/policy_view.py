"""The ``policies`` listing: each desk's plans, severities and targets, as text or JSON."""

from __future__ import annotations

from typing import Any

from domain.catalogue import Catalogue
from domain.policy import Desk
from tickets.output import hours


def desk_json(desk: Desk) -> dict[str, Any]:
    return {
        "id": desk.id,
        "name": desk.name,
        "version": desk.version,
        "source": desk.source,
        "ticket_prefix": desk.ticket_prefix,
        "warning_threshold": desk.warning_threshold,
        "editors_per_site": desk.editors_per_site,
        "required_fields": list(desk.required_fields),
        "inactivity": {
            "calendar": desk.inactivity.calendar.name,
            "warn_after": desk.inactivity.warn_text,
            "close_after": desk.inactivity.close_text,
        },
        "categories": {c.name: {"max_severity": c.max_severity} for c in desk.categories.values()},
        "plans": {
            plan.name: {
                "who_may_open": sorted(plan.who_may_open),
                "auto_escalation": plan.auto_escalation,
                "default_severity": plan.default_severity,
                "severities": {
                    sev.name: {
                        kind.value: {
                            "within": t.text, "seconds": t.duration.total_seconds(),
                            "calendar": t.calendar.name,
                        }
                        for kind, t in sev.targets.items()
                    }
                    for sev in plan.severities.values()
                },
            }
            for plan in desk.plans.values()
        },
    }


def desk_text(desk: Desk) -> str:
    lines = [f"{desk.id} — {desk.name} (v{desk.version}, {desk.source})"]
    lines.append(
        f"  auto-close: warn after {desk.inactivity.warn_text}, close after "
        f"{desk.inactivity.close_text} on calendar {desk.inactivity.calendar.name}"
    )
    for plan in desk.plans.values():
        flags = " auto-escalation" if plan.auto_escalation else ""
        lines.append(f"  plan {plan.name}: opened by {', '.join(sorted(plan.who_may_open))}{flags}")
        for sev in plan.severities.values():
            targets = ", ".join(
                f"{kind.value} {t.text} ({hours(t.duration)} on {t.calendar.name})"
                for kind, t in sev.targets.items()
            ) or "no targets"
            lines.append(f"    {sev.name:<4} {targets}")
    return "\n".join(lines)


def describe_catalogue(catalogue: Catalogue, desk_id: str | None, *, as_json: bool) -> Any:
    desks = [catalogue.desk(desk_id)] if desk_id else list(catalogue.desks())
    if as_json:
        return [desk_json(d) for d in desks]
    return "\n\n".join(desk_text(d) for d in desks)
