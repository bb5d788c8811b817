"""The ``[calendars.<name>]`` tables of a policy file, read into :class:`BusinessCalendar` objects."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, time
from functools import cache
from itertools import pairwise
from typing import Any

from tickets.domain.calendar import BusinessCalendar, OpeningHours
from tickets.domain.calendar_days import country_holidays
from tickets.domain.calendar_validation import country_problem, zone_problem
from tickets.domain.policy_toml import Table, positive

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_YEAR = re.compile(r"\d{4}")
#: The years an ``except`` name is looked for (names the package gives in any of them).
EXCEPTION_YEARS = tuple(range(2000, 2051))
#: ``(country, subdivision) -> every holiday name`` the ``holidays`` package gives in those years.
HolidayNames = Callable[[str, "str | None"], frozenset[str]]


@cache
def package_holiday_names(country: str, subdivision: str | None) -> frozenset[str]:
    """The names straight from the package (importing it imports all of its ~250 countries)."""
    return frozenset(name for year in EXCEPTION_YEARS
                     for name in country_holidays(country, subdivision, year).values())


_holiday_names: HolidayNames = package_holiday_names


def use_holiday_names(source: HolidayNames) -> None:
    """Look ``except`` names up in ``source`` from now on: the command line hands in names it
    keeps per package release (``tickets.holiday_names``), so a command that loads the policies
    need not import every country; the check is the same."""
    global _holiday_names
    _holiday_names = source


_RANGE = re.compile(r"(\d\d):(\d\d)\s*-\s*(\d\d):(\d\d)")


def read_calendar(table: Table) -> BusinessCalendar:
    table.expect("timezone", "hours", "holidays", "holiday_dates", "extra_holidays",
                 "removed_holidays", "always_open", "working_day", "version")
    version = positive(table, "version", 1)
    fields = _always_open(table) if table.get("always_open", bool, False) else _office(table)
    try:
        return BusinessCalendar(table.name, version=version, **fields)
    except ValueError as exc:  # the calendar's own checks, should a file get past ours
        raise table.error(str(exc)) from None


def _always_open(table: Table) -> dict[str, Any]:
    for key in ("hours", "holidays", "holiday_dates", "extra_holidays", "removed_holidays",
                "working_day"):
        if key in table.data:
            raise table.error("an always-open calendar takes no " + key, key)
    zone = _timezone(table) if "timezone" in table.data else "UTC"
    return {"timezone": zone, "always_open": True}


def _office(table: Table) -> dict[str, Any]:
    country, subdivision, exceptions = _holidays(table)
    years, pinned = _pinned(table, country)
    return {
        "timezone": _timezone(table), "hours": _hours(table.table("hours")),
        "holiday_country": country, "holiday_subdivision": subdivision,
        "holiday_exceptions": exceptions, "pinned_years": years, "pinned_holidays": pinned,
        "extra_holidays": _dates(table, "extra_holidays"),
        "removed_holidays": _dates(table, "removed_holidays"),
        "working_day": (table.duration("working_day", None)
                        if "working_day" in table.data else None),
    }


def _timezone(table: Table) -> str:
    name = table.get("timezone", str)
    problem = zone_problem(name)
    if problem is not None:
        raise table.error(problem, "timezone")
    return name


def _hours(table: Table) -> dict[int, OpeningHours]:
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


def _minutes(table: Table, key: str, text: object) -> tuple[int, int]:
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


def _holidays(table: Table) -> tuple[str | None, str | None, frozenset[str]]:
    if "holidays" not in table.data:
        return None, None, frozenset()
    spec = table.table("holidays")
    spec.expect("country", "subdivision", "except")
    country, subdivision = spec.get("country", str), spec.get("subdivision", str, None)
    for key, problem in (("country", country_problem(country, None)),
                         ("subdivision", country_problem(country, subdivision))):
        if problem is not None:
            raise spec.error(problem, key)
    return country, subdivision, _exceptions(spec, country, subdivision)


def _exceptions(spec: Table, country: str, subdivision: str | None) -> frozenset[str]:
    """Holiday names the calendar is open on; each must be a name the package gives the country."""
    names = spec.get("except", list, [])
    if not names:
        return frozenset()
    known = _holiday_names(country, subdivision)
    for i, name in enumerate(names):
        if type(name) is not str or name not in known:
            raise spec.error(f"{name!r} is not a holiday the holidays package names for "
                             f"{country} in {EXCEPTION_YEARS[0]}-{EXCEPTION_YEARS[-1]}",
                             f"except[{i}]")
    return frozenset(names)


def _pinned(table: Table, country: str | None) -> tuple[frozenset[int], dict[date, str]]:
    """``[holiday_dates.<year>]``: each year's holiday dates and names, pinned for this version."""
    if "holiday_dates" not in table.data:
        return frozenset(), {}
    spec = table.table("holiday_dates")
    if country is None:
        raise spec.error("pinned holiday dates need holidays = { country = ... }")
    years: set[int] = set()
    pinned: dict[date, str] = {}
    for key in spec.data:
        if not _YEAR.fullmatch(key):
            raise spec.error(f"{key!r} is not a year (YYYY)", key)
        dates = spec.table(key)
        for text in dates.data:
            try:
                day = date.fromisoformat(text)
            except ValueError:
                raise dates.error(f"{text!r} is not a date (YYYY-MM-DD)", text) from None
            if day.year != int(key):
                raise dates.error(f"{text} is not in {key}", text)
            pinned[day] = dates.get(text, str)
        years.add(int(key))
    return frozenset(years), pinned


def _dates(table: Table, name: str) -> frozenset[date]:
    days = set()
    for i, value in enumerate(table.get(name, list, [])):
        try:
            days.add(value if type(value) is date else date.fromisoformat(value))
        except (TypeError, ValueError):
            raise table.error(f"{value!r} is not a date (YYYY-MM-DD)", f"{name}[{i}]") from None
    return frozenset(days)
