"""Whose tickets get a plan's targets, where they start, and on which calendar each kind of case runs.

Read from a plan's ``targets_for``, ``starting_level`` and ``category_calendars`` keys and a
category's ``calendar`` (``docs/policies.md``). A target measured on another calendar is read
again from its text there, so "1 working day" is a working day of that calendar.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from tickets.domain.calendar import BusinessCalendar
from tickets.domain.durations import parse_duration
from tickets.domain.policy import Plan, Severity, Target, TargetKind
from tickets.domain.policy_toml import Table

_ROLE = re.compile(r"[a-z][a-z0-9_]*")

#: Targets re-read on another calendar, by severity name then kind.
Moved = dict[str, dict[TargetKind, Target]]
#: Looks a calendar up by the name at ``table[key]``; errors name the file and dotted key.
CalendarByKey = Callable[[Table, str], BusinessCalendar]


def targets_for(table: Table, who: tuple[str, ...]) -> frozenset[str] | None:
    """The roles promised the plan's targets: each one a role that may open a ticket."""
    if "targets_for" not in table.data:
        return None
    roles = table.names("targets_for", _ROLE)
    for i, role in enumerate(roles):
        if role not in who:
            raise table.error(f"{role!r} may not open tickets under this plan "
                              f"(who_may_open: {', '.join(who)})", f"targets_for[{i}]")
    return frozenset(roles)


def starting_levels(table: Table, who: tuple[str, ...], levels: tuple[str, ...]) -> dict[str, str]:
    """Role -> the level its tickets start at: a role that may open, a level of the ladder."""
    if "starting_level" not in table.data:
        return {}
    spec = table.table("starting_level")
    found = {}
    for role in spec.data:
        if role not in who:
            raise spec.error(f"{role!r} may not open tickets under this plan "
                             f"(who_may_open: {', '.join(who)})", role)
        level = spec.get(role, str)
        if level not in levels:
            raise spec.error(f"{level!r} is not a level of desk.escalation_levels "
                             f"({', '.join(levels)})", role)
        found[role] = level
    return found


def category_calendars(table: Table, calendar: CalendarByKey) -> dict[str, BusinessCalendar]:
    """``category_calendars = { billing = "office" }`` (the category names are checked once the
    categories are read, by ``check_categories``)."""
    if "category_calendars" not in table.data:
        return {}
    spec = table.table("category_calendars")
    return {name: calendar(spec, name) for name in spec.data}


def category_targets(
    table: Table, severities: Mapping[str, Severity], calendars: Mapping[str, BusinessCalendar]
) -> dict[str, Moved]:
    """The plan's targets, per category of ``category_calendars``, re-read on its calendar."""
    if not calendars:
        return {}
    spec = table.table("category_calendars")
    return {name: moved(spec, name, severities, on, table.name) for name, on in calendars.items()}


def check_categories(table: Table, plan: Plan, categories: Mapping[str, object]) -> None:
    for name in plan.category_calendars:
        if name not in categories:
            raise table.table("category_calendars").error(
                f"{name!r} is not a category of this file ({', '.join(categories)})", name)


def moved(
    table: Table, key: str, severities: Mapping[str, Severity], on: BusinessCalendar, plan: str
) -> Moved:
    """Each severity's targets as written, measured on ``on``; an error names ``table[key]``."""
    found: Moved = {}
    for severity in severities.values():
        found[severity.name] = {}
        for kind, target in severity.targets.items():
            try:
                duration = parse_duration(target.text, on)
            except ValueError as exc:
                raise table.error(f"plans.{plan}.severities.{severity.name}.{kind.value}: {exc}",
                                  key) from None
            found[severity.name][kind] = Target(kind, duration, on, target.text)
    return found
