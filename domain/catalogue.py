"""Policy files: read the TOML files that describe desks, validate them, and look desks up.

A desk is one file (the format is in ``docs/policies.md``). The shipped desks live in
``domain/policies/``; a user adds a desk by dropping a file into a directory passed to
:func:`load_catalogue`. Every mistake in a file is a :class:`PolicyError` naming the file, the
dotted key and the reason, so a typo never passes silently.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, time, timedelta
from importlib import resources
from importlib.resources.abc import Traversable
from itertools import pairwise
from os import PathLike
from pathlib import Path
from typing import Any, TypeVar, overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from domain.calendar import BusinessCalendar, OpeningHours
from domain.errors import PolicyError, ValidationError
from domain.policy import (
    Category,
    Desk,
    FieldRule,
    Inactivity,
    Plan,
    Severity,
    Target,
    TargetKind,
)

T = TypeVar("T")
D = TypeVar("D")
Location = str | PathLike[str] | Traversable

_REQUIRED: Any = object()
_TOML_TYPES = {
    str: "a string", int: "an integer", float: "a number", bool: "true or false",
    dict: "a table", list: "an array", date: "a date",
}
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
_DESK_ID = re.compile(r"[a-z0-9][a-z0-9-]*")
_FIELD = re.compile(r"[a-z][a-z0-9_]*")
_SEVERITY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_PREFIX = re.compile(r"[A-Z]{2,4}")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"(\d\d):(\d\d)\s*-\s*(\d\d):(\d\d)")
_TERM = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+(?:\s+[a-z]+)?)")
_UNITS = {
    "h": "hours", "hr": "hours", "hrs": "hours", "hour": "hours", "hours": "hours",
    "m": "minutes", "min": "minutes", "mins": "minutes", "minute": "minutes", "minutes": "minutes",
    "working day": "working_days", "working days": "working_days",
}


# ---------------------------------------------------------------- durations


def parse_duration(text: str, calendar: BusinessCalendar | None) -> timedelta:
    """Read "4 hours", "90m", "1h 30m" or "2.5 working days" as business time on ``calendar``.

    Hours and minutes are taken as written; "N working days" is ``calendar.working_days(N)``
    (refused when ``calendar`` is None). Raises ``ValueError`` with the reason.
    """
    plain, working_days, pos = timedelta(), 0.0, 0
    words = text.strip().lower()
    if not words:
        raise ValueError(_duration_hint(text))
    while pos < len(words):
        term = _TERM.match(words, pos)
        unit = _UNITS.get(" ".join(term.group(2).split())) if term else None
        if term is None or unit is None:
            raise ValueError(_duration_hint(text))
        amount, pos = float(term.group(1)), term.end()
        if unit == "working_days":
            working_days += amount
        else:
            plain += timedelta(**{unit: amount})
    if plain <= timedelta() and working_days == 0:
        raise ValueError(f"duration {text!r} must be longer than zero")
    if working_days and calendar is None:
        raise ValueError(f"{text!r}: working days need a calendar; write hours or minutes here")
    if working_days and calendar is not None:
        plain += calendar.working_days(working_days)
    return plain


def _duration_hint(text: str) -> str:
    if re.search(r"\d\s*(d|days?|weeks?)\b", text.lower()) and "working" not in text.lower():
        return (f"cannot read {text!r} as a duration: calendar days are not business time; "
                "write 'N working days' or hours")
    return (f"cannot read {text!r} as a duration; write e.g. '4 hours', '30 minutes', '90m', "
            "'1h 30m' or '2.5 working days'")


# ---------------------------------------------------------------- reading TOML tables


@dataclass(frozen=True)
class _Table:
    """One TOML table being read; knows its file and dotted key so that every error names both."""

    file: str
    key: str
    data: Mapping[str, object]

    def at(self, name: str) -> str:
        return f"{self.key}.{name}" if self.key else name

    def error(self, message: str, name: str | None = None) -> PolicyError:
        return PolicyError(message, file=self.file, key=self.at(name) if name else self.key or None)

    def expect(self, *allowed: str) -> None:
        """Refuse keys the format does not know: a typo must not be silently ignored."""
        for name in self.data:
            if name not in allowed:
                close = difflib.get_close_matches(name, allowed, n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"allowed: {', '.join(allowed)}"
                raise self.error(f"unknown key {name!r}; {hint}", name)

    @overload
    def get(self, name: str, kind: type[T]) -> T: ...
    @overload
    def get(self, name: str, kind: type[T], default: D) -> T | D: ...
    def get(self, name: str, kind: type[Any], default: Any = _REQUIRED) -> Any:
        if name not in self.data:
            if default is _REQUIRED:
                raise self.error("missing required key", name)
            return default
        value = self.data[name]
        if type(value) is not kind:
            raise self.error(f"must be {_TOML_TYPES[kind]}, not {_toml_type(value)}", name)
        return value

    def table(self, name: str) -> _Table:
        return _Table(self.file, self.at(name), self.get(name, dict))

    def children(
        self, name: str, pattern: re.Pattern[str], what: str, *, required: bool = True
    ) -> Iterator[_Table]:
        """The named sub-tables of ``name`` (``[plans.standard]``, ...), in file order."""
        if not required and name not in self.data:
            return
        parent = self.table(name)
        if required and not parent.data:
            raise parent.error(f"define at least one {what}")
        for child in parent.data:
            if not pattern.fullmatch(child):
                raise parent.error(f"{child!r} is not a valid {what} name", child)
            yield parent.table(child)

    @property
    def name(self) -> str:
        return self.key.rsplit(".", 1)[-1]

    def names(self, name: str, pattern: re.Pattern[str]) -> tuple[str, ...]:
        values = self.get(name, list)
        for i, value in enumerate(values):
            if type(value) is not str or not pattern.fullmatch(value):
                raise self.error(f"{value!r} is not a valid name", f"{name}[{i}]")
        if not values or len(set(values)) != len(values):
            raise self.error("must list at least one name, each once", name)
        return tuple(values)

    def duration(self, name: str, calendar: BusinessCalendar | None) -> timedelta:
        try:
            return parse_duration(self.get(name, str), calendar)
        except ValueError as exc:
            raise self.error(str(exc), name) from None


def _toml_type(value: object) -> str:
    return _TOML_TYPES.get(type(value), type(value).__name__)


# ---------------------------------------------------------------- calendars


def _calendar(table: _Table) -> BusinessCalendar:
    table.expect("timezone", "hours", "holidays", "extra_holidays", "removed_holidays",
                 "always_open", "working_day", "version")
    version = _positive(table, "version", 1)
    if table.get("always_open", bool, False):
        for key in ("hours", "holidays", "extra_holidays", "removed_holidays", "working_day"):
            if key in table.data:
                raise table.error("an always-open calendar takes no " + key, key)
        zone = _timezone(table) if "timezone" in table.data else "UTC"
        fields: dict[str, Any] = {"timezone": zone, "always_open": True}
    else:
        country, subdivision = _holidays(table)
        fields = {
            "timezone": _timezone(table), "hours": _hours(table.table("hours")),
            "holiday_country": country, "holiday_subdivision": subdivision,
            "extra_holidays": _dates(table, "extra_holidays"),
            "removed_holidays": _dates(table, "removed_holidays"),
            "working_day": (table.duration("working_day", None)
                            if "working_day" in table.data else None),
        }
    try:
        return BusinessCalendar(table.name, version=version, **fields)
    except ValueError as exc:  # the calendar's own checks, should a file get past ours
        raise table.error(str(exc)) from None


def _timezone(table: _Table) -> str:
    name = table.get("timezone", str)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise table.error(f"unknown time zone {name!r}", "timezone") from None
    return name


def _hours(table: _Table) -> dict[int, OpeningHours]:
    table.expect(*_DAYS)
    week: dict[int, OpeningHours] = {}
    for day, value in table.data.items():
        texts = [value] if isinstance(value, str) else value
        if not isinstance(texts, list):
            raise table.error("must be a range such as '09:00-17:00' or a list of them", day)
        spans = sorted(_minutes(table, f"{day}[{i}]", text) for i, text in enumerate(texts))
        for (_, end), (start, _) in pairwise(spans):
            if start < end:
                raise table.error("opening ranges overlap", day)
        if spans:
            week[_DAYS.index(day)] = tuple((_clock(a), _clock(b)) for a, b in spans)
    if not week:
        raise table.error("a calendar needs at least one opening range, or always_open = true")
    return dict(sorted(week.items()))


def _minutes(table: _Table, key: str, text: object) -> tuple[int, int]:
    match = _RANGE.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise table.error(f"{text!r} is not a range such as '09:00-17:00'", key)
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if m1 > 59 or m2 > 59 or end > 24 * 60 or start >= end:
        raise table.error(
            f"{text!r}: a range runs from 00:00-23:59 to a later time, at most 24:00", key)
    return start, end


def _clock(minutes: int) -> time:
    return time(0, 0) if minutes == 24 * 60 else time(minutes // 60, minutes % 60)


def _holidays(table: _Table) -> tuple[str | None, str | None]:
    if "holidays" not in table.data:
        return None, None
    spec = table.table("holidays")
    spec.expect("country", "subdivision")
    country, subdivision = spec.get("country", str), spec.get("subdivision", str, None)
    try:
        holidays.country_holidays(country, subdiv=subdivision)
    except NotImplementedError as exc:
        raise spec.error(f"the holidays package does not know this: {exc}") from None
    return country, subdivision


def _dates(table: _Table, name: str) -> frozenset[date]:
    days = set()
    for i, value in enumerate(table.get(name, list, [])):
        try:
            days.add(value if type(value) is date else date.fromisoformat(value))
        except (TypeError, ValueError):
            raise table.error(f"{value!r} is not a date (YYYY-MM-DD)", f"{name}[{i}]") from None
    return frozenset(days)


def _positive(table: _Table, name: str, default: int) -> int:
    value = table.get(name, int, default)
    if value < 1:
        raise table.error("must be 1 or more", name)
    return value


# ---------------------------------------------------------------- plans, categories, fields

CalendarRef = Callable[[_Table], BusinessCalendar]


def _calendar_ref(calendars: Mapping[str, BusinessCalendar]) -> CalendarRef:
    def lookup(table: _Table) -> BusinessCalendar:
        name = table.get("calendar", str)
        if name not in calendars:
            raise table.error(
                f"unknown calendar {name!r}; this file defines: {', '.join(calendars)}", "calendar")
        return calendars[name]
    return lookup


def _plan(table: _Table, calendar: CalendarRef) -> Plan:
    table.expect("description", "who_may_open", "auto_escalation", "default_severity",
                 "severities")
    severities = {
        s.name: _severity(s, calendar) for s in table.children("severities", _SEVERITY, "severity")
    }
    default = table.get("default_severity", str)
    if default not in severities:
        raise table.error(f"{default!r} is not one of: {', '.join(severities)}",
                          "default_severity")
    return Plan(
        name=table.name, description=table.get("description", str, ""), severities=severities,
        default_severity=default, who_may_open=frozenset(table.names("who_may_open", _FIELD)),
        auto_escalation=table.get("auto_escalation", bool, False),
    )


def _severity(table: _Table, calendar: CalendarRef) -> Severity:
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


def _category(table: _Table, plans: Mapping[str, Plan]) -> Category:
    table.expect("description", "max_severity")
    top = table.get("max_severity", str, None)
    for plan in plans.values():
        if top is not None and top not in plan.severities:
            raise table.error(f"{top!r} is not a severity of plan {plan.name!r} "
                              f"(its severities: {', '.join(plan.severities)})", "max_severity")
    return Category(table.name, top, table.get("description", str, ""))


def _field(table: _Table) -> FieldRule:
    table.expect("pattern", "description")
    pattern = table.get("pattern", str, None)
    try:
        re.compile(pattern or "")
    except re.error as exc:
        raise table.error(f"not a valid regular expression: {exc}", "pattern") from None
    return FieldRule(table.name, pattern, table.get("description", str))


def _inactivity(table: _Table, calendar: CalendarRef) -> Inactivity:
    table.expect("calendar", "warn_after", "close_after")
    on = calendar(table)
    warn, close = table.duration("warn_after", on), table.duration("close_after", on)
    if warn >= close:
        raise table.error("must be shorter than close_after", "warn_after")
    return Inactivity(on, warn, close, table.get("warn_after", str), table.get("close_after", str))


# ---------------------------------------------------------------- desks


def load_desk(path: Location) -> Desk:
    """Read and validate one policy file; raise :class:`PolicyError` naming file, key and reason."""
    root = _Table(str(path), "", _read_toml(path))
    root.expect("desk", "calendars", "inactivity", "categories", "fields", "plans")
    head = root.table("desk")
    head.expect("id", "name", "version", "ticket_prefix", "default_plan", "default_category",
                "warning_threshold", "editors_per_site", "reopen_within", "escalation_levels")
    calendars = {c.name: _calendar(c) for c in root.children("calendars", _NAME, "calendar")}
    calendar = _calendar_ref(calendars)
    inactivity = _inactivity(root.table("inactivity"), calendar)
    plans = {p.name: _plan(p, calendar) for p in root.children("plans", _NAME, "plan")}
    categories = {
        c.name: _category(c, plans) for c in root.children("categories", _NAME, "category")
    }
    fields = {f.name: _field(f) for f in root.children("fields", _FIELD, "field", required=False)}
    return Desk(
        id=_match(head, "id", _DESK_ID, "lower-case letters, digits and '-'"),
        name=head.get("name", str), version=_positive(head, "version", _REQUIRED),
        ticket_prefix=_match(head, "ticket_prefix", _PREFIX, "2 to 4 capital letters"),
        source=root.file, calendars=calendars, plans=plans,
        default_plan=_one_of(head, "default_plan", plans),
        categories=categories, default_category=_one_of(head, "default_category", categories),
        required_fields=fields,
        inactivity=inactivity, warning_threshold=_threshold(head),
        editors_per_site=(_positive(head, "editors_per_site", 1)
                          if "editors_per_site" in head.data else None),
        reopen_within=(head.duration("reopen_within", inactivity.calendar)
                       if "reopen_within" in head.data else None),
        escalation_levels=(head.names("escalation_levels", _FIELD)
                           if "escalation_levels" in head.data else Desk.escalation_levels),
    )


def _read_toml(path: Location) -> dict[str, Any]:
    file = path if isinstance(path, Traversable) else Path(path)
    try:
        return tomllib.loads(file.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise PolicyError(f"cannot read the file: {exc.strerror or exc}", file=str(path)) from None
    except UnicodeDecodeError:
        raise PolicyError("the file is not UTF-8 text", file=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"not valid TOML: {exc}", file=str(path)) from None


def _match(table: _Table, name: str, pattern: re.Pattern[str], rule: str) -> str:
    value = table.get(name, str)
    if not pattern.fullmatch(value):
        raise table.error(f"{value!r} is not valid: {rule}", name)
    return value


def _one_of(table: _Table, name: str, choices: Mapping[str, object]) -> str:
    value = table.get(name, str)
    if value not in choices:
        raise table.error(f"{value!r} is not one of: {', '.join(choices)}", name)
    return value


def _threshold(table: _Table) -> float:
    value = table.data.get("warning_threshold", 0.75)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise table.error(f"must be a number between 0 and 1 (exclusive), not {value!r}",
                          "warning_threshold")
    return float(value)


# ---------------------------------------------------------------- the catalogue


class Catalogue:
    """The desks known to the engine, by id. Refuses two desks with one id or one ticket prefix."""

    def __init__(self, desks: Iterable[Desk] = ()) -> None:
        self._desks: dict[str, Desk] = {}
        prefixes: dict[str, Desk] = {}
        for desk in desks:
            for seen, value, key in ((self._desks, desk.id, "id"),
                                     (prefixes, desk.ticket_prefix, "ticket_prefix")):
                if value in seen:
                    raise PolicyError(
                        f"desk {key} {value!r} is already used by {seen[value].source}",
                        file=desk.source, key=f"desk.{key}")
            self._desks[desk.id] = prefixes[desk.ticket_prefix] = desk

    def desk(self, desk_id: str) -> Desk:
        try:
            return self._desks[desk_id]
        except KeyError:
            raise ValidationError(
                f"no desk {desk_id!r}; known desks: {', '.join(sorted(self._desks))}",
                field="desk", rule="known_desk",
            ) from None

    def desks(self) -> Iterator[Desk]:
        return iter(self._desks.values())

    def __contains__(self, desk_id: object) -> bool:
        return desk_id in self._desks

    def __len__(self) -> int:
        return len(self._desks)


def shipped_policies() -> Traversable:
    """The directory of policy files that ships with the package."""
    return resources.files("domain").joinpath("policies")


def load_catalogue(
    directory: Location | None = None, extra_dirs: Iterable[Location] = ()
) -> Catalogue:
    """Load every ``*.toml`` in ``directory`` (default: the shipped desks) and in ``extra_dirs``."""
    folders = [shipped_policies() if directory is None else directory, *extra_dirs]
    return Catalogue(load_desk(file) for folder in folders for file in _policy_files(folder))


def _policy_files(folder: Location) -> list[Traversable]:
    where = folder if isinstance(folder, Traversable) else Path(folder)
    if not where.is_dir():
        raise PolicyError("policy directory does not exist", file=str(folder))
    return sorted(
        (f for f in where.iterdir()
         if f.is_file() and f.name.endswith(".toml") and not f.name.startswith(".")),
        key=lambda f: f.name,
    )
