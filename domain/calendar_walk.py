"""Walking a calendar's timeline date by date over the cached days (``domain/calendar_days.py``).

Instants are integer microseconds (``domain/calendar_spans.py``). The walks step over days and
opening intervals, never minutes; a walk that finds no opening for ten years gives up.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from tickets.domain.calendar_days import DayInfo, days_of, fill
from tickets.domain.calendar_spans import DAY_US, EPOCH_ORDINAL, Piece, Span, from_us

if TYPE_CHECKING:
    from tickets.domain.calendar import BusinessCalendar

_MAX_CLOSED_DAYS = 3660  # a search for an opening gives up after ten closed years


def ordinal_of(cal: BusinessCalendar, t: int, days: dict[int, DayInfo]) -> int:
    """The local date (as an ordinal) whose span [start of day, start of next day) holds t."""
    ordinal = t // DAY_US + EPOCH_ORDINAL  # the UTC date: at most a day off the local one
    while t < (days.get(ordinal) or fill(cal, days, ordinal))[0]:
        ordinal -= 1
    while t >= (days.get(ordinal) or fill(cal, days, ordinal))[1]:
        ordinal += 1
    return ordinal


def is_open_at(cal: BusinessCalendar, t: int) -> bool:
    """Whether instant ``t`` lies in an opening interval of a calendar that is not 24x7."""
    days = days_of(cal)
    ordinal = ordinal_of(cal, t, days)
    opens = (days.get(ordinal) or fill(cal, days, ordinal))[2]
    return any(a <= t < b for a, b in opens)


def add_unpaused(cal: BusinessCalendar, s: int, remaining: int) -> datetime:
    """``add`` without pauses: ``open_spans`` unrolled, as this is the hot path."""
    if cal.always_open:
        return from_us(s + remaining)
    days = days_of(cal)
    ordinal = ordinal_of(cal, s, days)
    closed_days = 0
    while True:
        opens = (days.get(ordinal) or fill(cal, days, ordinal))[2]
        for a, b in opens:
            if b <= s:
                continue
            if a < s:
                a = s
            if b - a >= remaining:
                return from_us(a + remaining)
            remaining -= b - a
        closed_days = 0 if opens else closed_days + 1
        if closed_days > _MAX_CLOSED_DAYS:
            raise ValueError(f"calendar {cal.name!r} does not open within ten years")
        ordinal += 1


def open_spans(cal: BusinessCalendar, s: int, e: int) -> Iterator[Span]:
    """Open intervals clipped to [s, e), in order; ``e = FAR`` walks on without end."""
    if cal.always_open:
        yield s, e
        return
    days = days_of(cal)
    ordinal = ordinal_of(cal, s, days)
    closed_days = 0
    while True:
        _start, day_end, opens, _reason = days.get(ordinal) or fill(cal, days, ordinal)
        for a, b in opens:
            if b <= s:
                continue
            if a >= e:
                return
            yield (a if a > s else s), (b if b < e else e)
        if day_end >= e:
            return
        closed_days = 0 if opens else closed_days + 1
        if closed_days > _MAX_CLOSED_DAYS:
            raise ValueError(f"calendar {cal.name!r} does not open within ten years")
        ordinal += 1


def pieces(cal: BusinessCalendar, s: int, e: int) -> Iterator[Piece]:
    """[s, e) as open pieces and closed pieces with the day's reason, before pauses."""
    days = days_of(cal)
    ordinal = ordinal_of(cal, s, days)
    cur = s
    while cur < e:
        _start, day_end, opens, reason = days.get(ordinal) or fill(cal, days, ordinal)
        for a, b in opens:
            if b <= cur:
                continue
            if a >= e:
                break
            if a > cur:
                yield cur, a, False, reason
                cur = a
            yield cur, min(b, e), True, "open"
            cur = min(b, e)
        stop = min(day_end, e)
        if cur < stop:
            yield cur, stop, False, reason
            cur = stop
        ordinal += 1
