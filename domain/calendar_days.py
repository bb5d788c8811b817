"""Each local date of a calendar, turned once into its opening intervals and cached.

A date becomes a ``DayInfo``: its start, the start of the next date, its opening intervals as UTC
microsecond spans and the reason it is closed otherwise. Equal calendars share one cache. The
holidays of a country are cached per year.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from tickets.domain.calendar_spans import Span, from_us, instant_us

if TYPE_CHECKING:
    from tickets.domain.calendar import BusinessCalendar

#: One local date: (start of day, start of next day, opening intervals, reason when closed).
DayInfo = tuple[int, int, tuple[Span, ...], str]

MIDNIGHT = time(0, 0)
DAY = timedelta(days=1)


@lru_cache(maxsize=256)
def country_holidays(country: str, subdivision: str | None, year: int) -> dict[date, str]:
    """The country's public holidays of one year, named in US English where the package can.

    The package is imported here, on first use: a calendar whose years are pinned never asks it,
    and importing it costs a command a tenth of a second."""
    import holidays

    entity = holidays.country_holidays(country, subdiv=subdivision, years=())
    language = "en_US" if "en_US" in entity.supported_languages else entity.default_language
    found = holidays.country_holidays(country, subdiv=subdivision, years=year, language=language)
    return dict(found.items())


def library_holidays(
    country: str, subdivision: str | None, year: int, exceptions: frozenset[str] = frozenset()
) -> dict[date, str]:
    """The year's holidays as the installed ``holidays`` release gives them, less ``exceptions``
    (holiday names the calendar is open on)."""
    found = country_holidays(country, subdivision, year)
    if not exceptions:
        return found
    return {day: name for day, name in found.items() if name not in exceptions}


#: Per calendar (equal calendars share), per local date ordinal: the date's ``DayInfo``.
_DAYS: dict[BusinessCalendar, dict[int, DayInfo]] = {}
_MAX_CALENDARS = 256
_MAX_DAYS = 1 << 15  # per calendar: about ninety years
#: The same caches by the calendar object's identity (kept in the entry, so an id is never read
#: for another object): equal calendars of several policy versions are distinct objects, and
#: finding one in ``_DAYS`` compares it field by field with the other.
_BY_ID: dict[int, tuple[BusinessCalendar, dict[int, DayInfo]]] = {}


def days_of(cal: BusinessCalendar) -> dict[int, DayInfo]:
    seen = _BY_ID.get(id(cal))
    if seen is not None and seen[0] is cal:
        return seen[1]
    days = _DAYS.get(cal)
    if days is None:
        if len(_DAYS) >= _MAX_CALENDARS:
            _DAYS.clear()
            _BY_ID.clear()
        days = _DAYS.setdefault(cal, {})
    if len(_BY_ID) >= _MAX_CALENDARS:
        _BY_ID.clear()
    _BY_ID[id(cal)] = (cal, days)
    return days


def fill(cal: BusinessCalendar, days: dict[int, DayInfo], ordinal: int) -> DayInfo:
    if len(days) >= _MAX_DAYS:
        days.clear()
    info = days[ordinal] = _day(cal, ordinal)
    return info


def clear_caches() -> None:
    """Forget every cached day and holiday year (for benchmarks and long-lived processes)."""
    _DAYS.clear()
    _BY_ID.clear()
    country_holidays.cache_clear()


def _day(cal: BusinessCalendar, ordinal: int) -> DayInfo:
    """One local date: start, start of the next date, opening intervals, reason when closed.

    A wall time skipped by a daylight-saving jump maps to the instant of the jump; a repeated wall
    time maps to its first occurrence as an opening and to its last as a closing. Every interval is
    clipped to the date's own span, so the dates tile the timeline.
    """
    tz = cal._tz
    day = date.fromordinal(ordinal)
    day_start = _wall(tz, day, MIDNIGHT, latest=False)
    day_end = _wall(tz, day + DAY, MIDNIGHT, latest=False)
    holiday = cal.holiday_name(day)
    if holiday is not None:
        return day_start, day_end, (), f"holiday: {holiday}"
    intervals = cal._week[day.weekday()]
    if not intervals:
        return day_start, day_end, (), "weekend"
    opens: list[Span] = []
    for opening, closing in intervals:
        a = max(day_start, _wall(tz, day, opening, latest=False))
        b = day_end if closing == MIDNIGHT else min(day_end, _wall(tz, day, closing, latest=True))
        if a >= b:
            continue
        if opens and a <= opens[-1][1]:
            opens[-1] = (opens[-1][0], max(b, opens[-1][1]))
        else:
            opens.append((a, b))
    return day_start, day_end, tuple(opens), "outside hours"


def _wall(tz: ZoneInfo, day: date, at: time, latest: bool) -> int:
    """The UTC instant of local wall time ``day at``, resolving daylight-saving gaps and folds."""
    first = datetime.combine(day, at, tzinfo=tz)
    u0 = instant_us(first, "wall time")
    u1 = instant_us(first.replace(fold=1), "wall time")
    if u0 == u1:
        return u0
    if u0 < u1:  # the wall time happens twice: u0 is the first occurrence, u1 the second
        return u1 if latest else u0
    # The wall time never happens (the clocks jump over it): use the instant of the jump, which
    # lies in (u1, u0]; the offset at u1 is the one before the jump.
    before = from_us(u1).astimezone(tz).utcoffset()
    lo, hi = u1, u0
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if from_us(mid).astimezone(tz).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return hi
