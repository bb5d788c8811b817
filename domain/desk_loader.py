"""A desk built from the root table of its policy file.

Calendars, plans with their severities, categories, required fields and the inactivity rule are
read and checked against each other; every error names the file, the dotted key and the reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from tickets.domain.calendar import BusinessCalendar
from tickets.domain.policy import (
    Category,
    Desk,
    FieldRule,
    Inactivity,
    Plan,
    Severity,
    Target,
    TargetKind,
)
from tickets.domain.policy_calendars import read_calendar
from tickets.domain.policy_targets import (
    CalendarByKey,
    category_calendars,
    category_targets,
    check_categories,
    moved,
    starting_levels,
    targets_for,
)
from tickets.domain.policy_toml import REQUIRED, Table, matching, one_of, positive
from tickets.domain.retention import Retention, parse_retention

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
_DESK_ID = re.compile(r"[a-z0-9][a-z0-9-]*")
_FIELD = re.compile(r"[a-z][a-z0-9_]*")
_SEVERITY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_PREFIX = re.compile(r"[A-Z]{2,4}")

CalendarRef = Callable[[Table], BusinessCalendar]


def read_desk(root: Table) -> Desk:
    """Validate a policy file's root table and build its desk; errors name file, key and reason."""
    root.expect("desk", "calendars", "inactivity", "categories", "fields", "plans")
    head = root.table("desk")
    head.expect("id", "name", "version", "ticket_prefix", "default_plan", "default_category",
                "warning_threshold", "editors_per_site", "reopen_within", "escalation_levels",
                "retention")
    calendars = {c.name: read_calendar(c) for c in root.children("calendars", _NAME, "calendar")}
    by_key = _calendar_by_key(calendars)

    def calendar(table: Table) -> BusinessCalendar:
        return by_key(table, "calendar")
    inactivity = _inactivity(root.table("inactivity"), calendar)
    levels = (head.names("escalation_levels", _FIELD)
              if "escalation_levels" in head.data else Desk.escalation_levels)
    plan_tables = list(root.children("plans", _NAME, "plan"))
    plans = {p.name: _plan(p, by_key, levels) for p in plan_tables}
    categories = {
        c.name: _category(c, plans, calendar)
        for c in root.children("categories", _NAME, "category")
    }
    for table in plan_tables:
        check_categories(table, plans[table.name], categories)
    fields = {f.name: _field(f) for f in root.children("fields", _FIELD, "field", required=False)}
    return Desk(
        id=matching(head, "id", _DESK_ID, "lower-case letters, digits and '-'"),
        name=head.get("name", str), version=positive(head, "version", REQUIRED),
        ticket_prefix=matching(head, "ticket_prefix", _PREFIX, "2 to 4 capital letters"),
        source=root.file, calendars=calendars, plans=plans,
        default_plan=one_of(head, "default_plan", plans),
        categories=categories, default_category=one_of(head, "default_category", categories),
        required_fields=fields,
        inactivity=inactivity, warning_threshold=_threshold(head),
        editors_per_site=(positive(head, "editors_per_site", 1)
                          if "editors_per_site" in head.data else None),
        reopen_within=(head.duration("reopen_within", inactivity.calendar)
                       if "reopen_within" in head.data else None),
        escalation_levels=levels,
        retention=_retention(head) if "retention" in head.data else None,
    )


def _calendar_by_key(calendars: Mapping[str, BusinessCalendar]) -> CalendarByKey:
    def lookup(table: Table, key: str) -> BusinessCalendar:
        name = table.get(key, str)
        if name not in calendars:
            raise table.error(
                f"unknown calendar {name!r}; this file defines: {', '.join(calendars)}", key)
        return calendars[name]
    return lookup


def _plan(table: Table, by_key: CalendarByKey, levels: tuple[str, ...]) -> Plan:
    table.expect("description", "who_may_open", "auto_escalation", "default_severity",
                 "severities", "targets_for", "starting_level", "category_calendars")
    severities = {
        s.name: _severity(s, lambda t: by_key(t, "calendar"))
        for s in table.children("severities", _SEVERITY, "severity")
    }
    default = table.get("default_severity", str)
    if default not in severities:
        raise table.error(f"{default!r} is not one of: {', '.join(severities)}",
                          "default_severity")
    who = table.names("who_may_open", _FIELD)
    by_category = category_calendars(table, by_key)
    return Plan(
        name=table.name, description=table.get("description", str, ""), severities=severities,
        default_severity=default, who_may_open=frozenset(who),
        auto_escalation=table.get("auto_escalation", bool, False),
        targets_for=targets_for(table, who), starting_levels=starting_levels(table, who, levels),
        category_calendars=by_category,
        category_targets=category_targets(table, severities, by_category),
    )


def _severity(table: Table, calendar: CalendarRef) -> Severity:
    kinds = [kind.value for kind in TargetKind]
    table.expect("description", *kinds)
    targets = {}
    for kind in TargetKind:
        if kind.value in table.data:
            spec = table.table(kind.value)
            spec.expect("within", "calendar")
            on = calendar(spec)
            targets[kind] = Target(kind, spec.duration("within", on), on, spec.get("within", str))
    return Severity(table.name, table.get("description", str), targets)


def _category(table: Table, plans: Mapping[str, Plan], calendar: CalendarRef) -> Category:
    table.expect("description", "max_severity", "calendar")
    top = table.get("max_severity", str, None)
    for plan in plans.values():
        if top is not None and top not in plan.severities:
            raise table.error(f"{top!r} is not a severity of plan {plan.name!r} "
                              f"(its severities: {', '.join(plan.severities)})", "max_severity")
    on = calendar(table) if "calendar" in table.data else None
    targets = {} if on is None else {
        (plan.name, severity): found for plan in plans.values()
        for severity, found in moved(table, "calendar", plan.severities, on, plan.name).items()}
    return Category(table.name, top, table.get("description", str, ""), on, targets)


def _field(table: Table) -> FieldRule:
    table.expect("pattern", "description", "personal")
    pattern = table.get("pattern", str, None)
    try:
        re.compile(pattern or "")
    except re.error as exc:
        raise table.error(f"not a valid regular expression: {exc}", "pattern") from None
    return FieldRule(table.name, pattern, table.get("description", str),
                     table.get("personal", bool, False))


def _inactivity(table: Table, calendar: CalendarRef) -> Inactivity:
    table.expect("calendar", "warn_after", "close_after")
    on = calendar(table)
    warn, close = table.duration("warn_after", on), table.duration("close_after", on)
    if warn >= close:
        raise table.error("must be shorter than close_after", "warn_after")
    return Inactivity(on, warn, close, table.get("warn_after", str), table.get("close_after", str))


def _retention(table: Table) -> Retention:
    try:
        return parse_retention(table.get("retention", str))
    except ValueError as error:
        raise table.error(str(error), "retention") from None


def _threshold(table: Table) -> float:
    value = table.data.get("warning_threshold", 0.75)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise table.error(f"must be a number between 0 and 1 (exclusive), not {value!r}",
                          "warning_threshold")
    return float(value)
