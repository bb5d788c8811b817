"""The checks a ``BusinessCalendar`` passes when it is built, and its normalised opening hours.

Every error names the calendar and the field at fault, so a mistake in a policy file points at
the line to fix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime, time, timedelta
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from tickets.domain.calendar import BusinessCalendar

#: An opening interval of one weekday in local wall time; ``time(0, 0)`` as the end means 24:00.
OpeningHours = tuple[tuple[time, time], ...]

_MIDNIGHT = time(0, 0)
_DAY = timedelta(days=1)


class Checked(NamedTuple):
    """A calendar's fields as validated: hours by weekday (0 = Monday), dates, time zone."""

    week: tuple[OpeningHours, ...]
    extra_holidays: frozenset[date]
    removed_holidays: frozenset[date]
    tz: ZoneInfo


def check_calendar(cal: BusinessCalendar) -> Checked:
    """Validate ``cal``'s fields, raising ValueError naming the calendar on the first fault."""
    if not isinstance(cal.name, str) or not cal.name:
        raise ValueError("a calendar needs a non-empty name")
    where = f"calendar {cal.name!r}"
    week = _week_hours(cal.hours, where)
    extra = _dates(cal.extra_holidays, where, "extra_holidays")
    removed = _dates(cal.removed_holidays, where, "removed_holidays")
    if extra & removed:
        both = ", ".join(sorted(d.isoformat() for d in extra & removed))
        raise ValueError(f"{where}: dates both added and removed as holidays: {both}")
    if cal.working_day is not None and cal.working_day <= timedelta(0):
        raise ValueError(f"{where}: working_day must be positive, not {cal.working_day}")
    if not cal.always_open and not any(week):
        raise ValueError(f"{where} has no opening hours; give hours or always_open=True")
    if cal.holiday_subdivision is not None and cal.holiday_country is None:
        raise ValueError(f"{where}: holiday_subdivision needs a holiday_country")
    if cal.holiday_country is not None:
        _check_country(cal.holiday_country, cal.holiday_subdivision, where)
    elif cal.holiday_exceptions or cal.pinned_years:
        raise ValueError(f"{where}: holiday exceptions and pinned holiday dates need a "
                         "holiday_country")
    for day in cal.pinned_holidays:
        if not isinstance(day, date) or isinstance(day, datetime) or day.year not in cal.pinned_years:
            raise ValueError(f"{where}: pinned holiday {day!r} is not a date of a pinned year")
    return Checked(week, extra, removed, _zone(cal.timezone, where))


def nominal_length(intervals: OpeningHours) -> timedelta:
    """The length of one weekday's opening hours, read as wall times."""
    return sum((_clock(b, end=True) - _clock(a) for a, b in intervals), timedelta(0))


class WeekHours(Mapping[int, OpeningHours]):
    """Opening hours by weekday: an immutable, hashable mapping that compares like a dict."""

    def __init__(self, data: Mapping[int, OpeningHours]) -> None:
        self._data = dict(data)

    def __getitem__(self, weekday: int) -> OpeningHours:
        return self._data[weekday]

    def __iter__(self) -> Iterator[int]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(tuple(self._data.items()))

    def __repr__(self) -> str:
        return repr(self._data)


@lru_cache(maxsize=1)
def known_countries() -> frozenset[str]:
    """The ``holidays`` package's supported country codes, read from its registry.

    The package looks a country up as any attribute of itself (``utils``, ``HolidayBase``), so a
    name is only trusted when the registry lists it as a supported country. The registry names
    the codes without importing a country's module (listing the subdivisions too would import
    all of them, a sixth of a second that every command would pay).
    """
    from holidays.registry import EntityLoader  # imported on first use (a tenth of a second)

    return frozenset(EntityLoader.get_country_codes())


@cache
def subdivisions_of(country: str) -> tuple[str, ...]:
    """A supported country's subdivision codes (importing that country's module only)."""
    import holidays

    return tuple(getattr(holidays, country).subdivisions)


def zone_problem(name: object) -> str | None:
    """Why ``name`` is not a time zone of the zone database, or None when it is one."""
    if not isinstance(name, str) or not is_zone(name):
        return f"unknown time zone {name!r}: not a zone of the IANA time zone database"
    return None


#: What ``zoneinfo.available_timezones`` leaves out although ``ZoneInfo`` would load it.
_NOT_ZONES = ("posix/", "right/")


@cache
def is_zone(name: str) -> bool:
    """Whether ``zoneinfo.available_timezones()`` lists ``name``, asked of this name alone.

    A key is listed when it is a zone file (TZif) under a zone root, other than the ``posix/``
    and ``right/`` copies and ``posixrules``: exactly what ``ZoneInfo`` loads, less those. A folder
    such as ``Europe``, a stray file such as ``zone.tab`` or a path that is not a normalised key is
    refused either way. Listing every zone opens every file of the database (a twentieth of a
    second that each command loading the policies would pay).
    """
    if not name or name == "posixrules" or name.startswith(_NOT_ZONES):
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


#: ``(country, subdivision) -> why the pair is not known to the holidays package, or None``.
CountryProblem = Callable[[str, "str | None"], "str | None"]


def country_problem(country: object, subdivision: object) -> str | None:
    """Why (``country``, ``subdivision``) is not known to the ``holidays`` package, or None
    (asked of ``use_country_problems``'s source when both are text, of the package otherwise)."""
    if isinstance(country, str) and (subdivision is None or isinstance(subdivision, str)):
        return _country_problem(country, subdivision)
    return package_country_problem(country, subdivision)


def package_country_problem(country: object, subdivision: object) -> str | None:
    """``country_problem`` as the package answers it (importing the package: a tenth of a second)."""
    if not isinstance(country, str) or country not in known_countries():
        return (f"unknown holiday country {country!r}: not a country the holidays package "
                "supports (codes such as 'NL', 'BE', 'CN')")
    if subdivision is None:
        return None
    subdivisions = subdivisions_of(country)
    if not isinstance(subdivision, str):
        return f"a subdivision is a code such as {', '.join(subdivisions[:3]) or 'none'}"
    import holidays

    try:
        holidays.country_holidays(country, subdiv=subdivision, years=())
    except (NotImplementedError, ValueError, TypeError, AttributeError):
        known = ", ".join(subdivisions) or "none"
        return f"unknown subdivision {subdivision!r} of {country}; subdivisions: {known}"
    return None


_country_problem: CountryProblem = package_country_problem


def use_country_problems(source: CountryProblem) -> None:
    """Ask ``source`` from now on: the command line hands in the answers it keeps per package
    release (``tickets.holiday_names``), so a command that loads the policies need not import the
    package at all when every calendar's years are pinned; the check is the same."""
    global _country_problem
    _country_problem = source


def _zone(name: str, where: str) -> ZoneInfo:
    problem = zone_problem(name)
    if problem is not None:
        raise ValueError(f"{where}: {problem}")
    return ZoneInfo(name)


def _week_hours(hours: Mapping[int, Any], where: str) -> tuple[OpeningHours, ...]:
    """Validated hours as a 7-tuple indexed by weekday (0 = Monday)."""
    if not isinstance(hours, Mapping):
        raise ValueError(f"{where}: hours must map weekday numbers 0-6 to intervals")
    week: list[OpeningHours] = [()] * 7
    for weekday, intervals in hours.items():
        if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
            raise ValueError(f"{where}: weekday must be 0 (Monday) to 6 (Sunday), not {weekday!r}")
        week[weekday] = _day_hours(intervals, f"{where}, weekday {weekday}")
    return tuple(week)


def _day_hours(intervals: Iterable[Any], where: str) -> OpeningHours:
    checked: list[tuple[time, time]] = []
    previous_end: timedelta | None = None
    for interval in intervals:
        try:
            opens, closes = interval
        except (TypeError, ValueError):
            message = f"{where}: an interval is a (start, end) pair, not {interval!r}"
            raise ValueError(message) from None
        for t in (opens, closes):
            if not isinstance(t, time) or t.tzinfo is not None:
                raise ValueError(f"{where}: interval bounds must be naive times, not {t!r}")
        start, end = _clock(opens), _clock(closes, end=True)
        if end <= start:
            raise ValueError(f"{where}: interval ends ({closes}) before it starts ({opens})")
        if previous_end is not None and start < previous_end:
            raise ValueError(f"{where}: intervals must be sorted and must not overlap")
        previous_end = end
        checked.append((opens.replace(fold=0), closes.replace(fold=0)))
    return tuple(checked)


def _clock(t: time, end: bool = False) -> timedelta:
    """Time of day as a duration since midnight; an end of 00:00 means 24:00."""
    if end and t == _MIDNIGHT:
        return _DAY
    return timedelta(hours=t.hour, minutes=t.minute, seconds=t.second, microseconds=t.microsecond)


def _dates(values: Iterable[date], where: str, what: str) -> frozenset[date]:
    result = frozenset(values)
    for d in result:
        if not isinstance(d, date) or isinstance(d, datetime):
            raise ValueError(f"{where}: {what} must hold dates, not {d!r}")
    return result


def _check_country(country: str, subdivision: str | None, where: str) -> None:
    problem = country_problem(country, subdivision)
    if problem is not None:
        raise ValueError(f"{where}: {problem}")
