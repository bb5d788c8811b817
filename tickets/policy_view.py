"""The ``policies`` listing: each desk's plans, severities and targets, as text or JSON."""

from __future__ import annotations

from datetime import time
from typing import Any

from tickets.domain.calendar import BusinessCalendar
from tickets.domain.catalogue import Catalogue
from tickets.domain.policy import Desk, Plan
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
        "escalation_levels": list(desk.escalation_levels),
        "calendars": {name: calendar_json(c) for name, c in desk.calendars.items()},
        "categories": {
            c.name: {"max_severity": c.max_severity,
                     "calendar": c.calendar.name if c.calendar is not None else None}
            for c in desk.categories.values()
        },
        "plans": {
            plan.name: {
                "who_may_open": sorted(plan.who_may_open),
                "auto_escalation": plan.auto_escalation,
                "scheduler": scheduler_text(plan),
                "targets_for": sorted(plan.targets_for) if plan.targets_for is not None else None,
                "starting_level": dict(sorted(plan.starting_levels.items())),
                "category_calendars": {
                    cat: on.name for cat, on in sorted(plan.category_calendars.items())},
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


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def calendar_json(cal: BusinessCalendar) -> dict[str, Any]:
    """A calendar as its desk's file states it: zone, hours per weekday (local wall time; an end
    of ``24:00`` is midnight), holidays with the dates pinned per year, the exceptions (holidays
    it is open on, dates added and removed) and the working day's length."""
    return {
        "always_open": cal.always_open, "timezone": cal.timezone,
        "hours": {WEEKDAYS[day]: [[_wall(a), _wall(b, end=True)] for a, b in spans]
                  for day, spans in sorted(cal.hours.items())},
        "working_day": {"length": hours(cal.working_day_length),
                        "seconds": cal.working_day_length.total_seconds(),
                        "stated": cal.working_day is not None},
        "holidays": cal.holiday_country, "subdivision": cal.holiday_subdivision,
        "open_on": sorted(cal.holiday_exceptions),
        "pinned_years": sorted(cal.pinned_years),
        "holiday_dates": {str(year): {d.isoformat(): name for d, name
                                      in sorted(cal.pinned_holidays.items()) if d.year == year}
                          for year in sorted(cal.pinned_years)},
        "extra_holidays": sorted(d.isoformat() for d in cal.extra_holidays),
        "removed_holidays": sorted(d.isoformat() for d in cal.removed_holidays),
    }


def _wall(at: time, *, end: bool = False) -> str:
    return "24:00" if end and at == time(0, 0) else at.strftime("%H:%M")


def scheduler_text(plan: Plan) -> str:
    """What the plan's ``auto_escalation`` makes the scheduler do, in words."""
    if plan.auto_escalation:
        return "escalates at risk and at breach"
    return "never escalates: risks and breaches are shown for a person to act on"


def _calendar_line(cal: BusinessCalendar) -> str:
    if cal.always_open:
        return f"  calendar {cal.name}: 24x7"
    days = "holidays " + (cal.holiday_country or "none")
    if cal.holiday_exceptions:
        days += " except " + ", ".join(sorted(cal.holiday_exceptions))
    if cal.pinned_years:
        days += f", dates pinned for {min(cal.pinned_years)}-{max(cal.pinned_years)}"
    return f"  calendar {cal.name}: {cal.timezone}, {days}\n{_hours_line(cal)}"


def _hours_line(cal: BusinessCalendar) -> str:
    week = ", ".join(
        f"{WEEKDAYS[day][:3]} " + " ".join(f"{_wall(a)}-{_wall(b, end=True)}" for a, b in spans)
        for day, spans in sorted(cal.hours.items()))
    return f"    open {week}; working day {hours(cal.working_day_length)}"


def desk_text(desk: Desk) -> str:
    lines = [f"{desk.id} — {desk.name} (v{desk.version}, {desk.source})"]
    lines += [_calendar_line(c) for c in desk.calendars.values()]
    lines.append(
        f"  auto-close: warn after {desk.inactivity.warn_text}, close after "
        f"{desk.inactivity.close_text} on calendar {desk.inactivity.calendar.name}"
    )
    for cat in desk.categories.values():
        rules = [f"at most {cat.max_severity}"] if cat.max_severity else []
        rules += [f"targets on calendar {cat.calendar.name}"] if cat.calendar else []
        lines.append(f"  category {cat.name}" + (f": {', '.join(rules)}" if rules else ""))
    for plan in desk.plans.values():
        lines.append(f"  plan {plan.name}: opened by {', '.join(sorted(plan.who_may_open))}; "
                     f"scheduler {scheduler_text(plan)}")
        if plan.targets_for is not None:
            lines.append(f"    targets for {', '.join(sorted(plan.targets_for))} only")
        for role, level in sorted(plan.starting_levels.items()):
            lines.append(f"    {role} starts at {level}")
        for name, on in sorted(plan.category_calendars.items()):
            lines.append(f"    {name} targets on calendar {on.name}")
        for sev in plan.severities.values():
            targets = ", ".join(
                f"{kind.value} {t.text} ({hours(t.duration)} on {t.calendar.name})"
                for kind, t in sev.targets.items()
            ) or "no targets"
            lines.append(f"    {sev.name:<4} {targets}")
    return "\n".join(lines)


def describe_catalogue(catalogue: Catalogue, desk_id: str | None, *, as_json: bool) -> Any:
    """Each desk's current version, and the superseded versions its older tickets still run on."""
    desks = [catalogue.desk(desk_id)] if desk_id else list(catalogue.desks())
    if as_json:
        return [{**desk_json(d), "superseded": [{"version": old.version, "source": old.source}
                                                for old in _superseded(catalogue, d)]}
                for d in desks]
    return "\n\n".join(desk_text(d) + _superseded_text(catalogue, d) for d in desks)


def _superseded(catalogue: Catalogue, desk: Desk) -> list[Desk]:
    return [d for d in catalogue.versions(desk.id) if d is not desk]


def _superseded_text(catalogue: Catalogue, desk: Desk) -> str:
    lines = [f"\n  superseded v{old.version} ({old.source}): tickets opened under it keep its rules"
             for old in _superseded(catalogue, desk)]
    return "".join(lines)
