"""Business calendars and business-time arithmetic.

A calendar is data: a time zone, opening hours per weekday, holidays (from the ``holidays``
package by country and subdivision, plus explicit extra and removed dates), or 24x7.

All arithmetic is done on integer microseconds since the Unix epoch (UTC), so adding business
time and measuring it again round-trips exactly (``calendar_spans``). Each local date is turned
once into its opening intervals as UTC microsecond pairs and cached (``calendar_days``); ``add``
walks days and intervals, never minutes (``calendar_walk``). The checks made when a calendar is
built are in ``calendar_validation``. The semantics, daylight-saving dates included, are in
``docs/calendars.md``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from tickets.domain.calendar_days import DAY, clear_caches, library_holidays
from tickets.domain.calendar_spans import (
    FAR,
    Pause,
    Span,
    duration_us,
    from_us,
    instant_us,
    merge_pauses,
    merge_pieces,
    minus,
    overlay_pauses,
)
from tickets.domain.calendar_validation import OpeningHours, WeekHours, check_calendar, nominal_length
from tickets.domain.calendar_walk import add_unpaused, is_open_at, open_spans, pieces

__all__ = ["BusinessCalendar", "Interval", "OpeningHours", "Pause", "clear_caches"]


@dataclass(frozen=True)
class Interval:
    """One piece of an explained timeline: did this span count, and why (not)."""

    start: datetime
    end: datetime
    counted: bool
    reason: str  # "open" | "outside hours" | "weekend" | "holiday: <name>" | "paused"


@dataclass(frozen=True)
class BusinessCalendar:
    name: str
    timezone: str = "UTC"
    hours: Mapping[int, OpeningHours] = field(default_factory=dict)  # 0 = Monday
    holiday_country: str | None = None
    holiday_subdivision: str | None = None
    extra_holidays: frozenset[date] = frozenset()
    removed_holidays: frozenset[date] = frozenset()
    always_open: bool = False
    working_day: timedelta | None = None
    version: int = 1
    #: Holiday names (as the ``holidays`` package gives them) on which the calendar is open.
    holiday_exceptions: frozenset[str] = frozenset()
    #: Years whose holidays are these pinned dates, never the library's (see ``holiday_name``).
    pinned_years: frozenset[int] = frozenset()
    pinned_holidays: Mapping[date, str] = field(default_factory=dict, repr=False)
    if TYPE_CHECKING:  # derived in __post_init__; not fields, so not compared, shown or hashed
        _tz: ZoneInfo = field(init=False)
        _week: tuple[OpeningHours, ...] = field(init=False)
        _day_length: timedelta = field(init=False)
        _hash: int = field(init=False)

    def __post_init__(self) -> None:
        week, extra, removed, tz = check_calendar(self)
        put = object.__setattr__
        put(self, "hours", WeekHours({d: iv for d, iv in enumerate(week) if iv}))
        put(self, "extra_holidays", extra)
        put(self, "removed_holidays", removed)
        put(self, "holiday_exceptions", frozenset(self.holiday_exceptions))
        put(self, "pinned_years", frozenset(self.pinned_years))
        put(self, "pinned_holidays", dict(self.pinned_holidays))
        put(self, "_tz", tz)
        put(self, "_week", week)
        put(self, "_day_length", self._compute_day_length(week))
        put(self, "_hash", hash((
            self.name, self.timezone, week, self.holiday_country, self.holiday_subdivision,
            extra, removed, self.always_open, self.working_day, self.version,
            self.holiday_exceptions, self.pinned_years, tuple(sorted(self.pinned_holidays.items())),
        )))

    def __hash__(self) -> int:
        return self._hash

    @classmethod
    def twenty_four_seven(cls, name: str = "24x7", version: int = 1) -> BusinessCalendar:
        return cls(name=name, timezone="UTC", always_open=True, version=version)

    # -- lengths -------------------------------------------------------------------------------

    def _compute_day_length(self, week: tuple[OpeningHours, ...]) -> timedelta:
        if self.working_day is not None:
            return self.working_day
        if self.always_open:
            return DAY
        lengths = Counter(nominal_length(iv) for iv in week if iv)
        return max(lengths, key=lambda length: (lengths[length], length))

    @property
    def working_day_length(self) -> timedelta:
        """The hours of a full working day: ``working_day``, 24 h for 24x7, else the usual day."""
        return self._day_length

    def working_days(self, n: float) -> timedelta:
        """``n`` working days as business time: ``n`` times the working day length."""
        if n < 0:
            raise ValueError(f"a number of working days cannot be negative: {n}")
        return self.working_day_length * n

    # -- dates and instants --------------------------------------------------------------------

    def holiday_name(self, day: date) -> str | None:
        """The name of the holiday on local date ``day``, or None when it is not one.

        A pinned year's holidays are its pinned dates, whatever the installed ``holidays``
        release says, so a policy version resolves to the same dates forever; other years ask
        the library (less ``holiday_exceptions``). Extra and removed dates apply to both.
        """
        if isinstance(day, datetime):
            raise ValueError("holiday_name takes a local date, not a datetime")
        if self.always_open or day in self.removed_holidays:
            return None
        if self.holiday_country is not None:
            if day.year in self.pinned_years:
                found = self.pinned_holidays.get(day)
            else:
                found = library_holidays(self.holiday_country, self.holiday_subdivision,
                                         day.year, self.holiday_exceptions).get(day)
            if found is not None:
                return found
        return "extra holiday" if day in self.extra_holidays else None

    def is_open(self, instant: datetime) -> bool:
        t = instant_us(instant, "instant")
        if self.always_open:
            return True
        return is_open_at(self, t)

    def next_opening(self, instant: datetime) -> datetime:
        """The first open instant at or after ``instant`` (the instant itself if open), in UTC."""
        t = instant_us(instant, "instant")
        for a, _b in open_spans(self, t, FAR):
            return from_us(a)
        raise AssertionError("unreachable: open_spans never ends without an opening")

    # -- business time -------------------------------------------------------------------------

    def add(self, start: datetime, duration: timedelta, pauses: Sequence[Pause] = ()) -> datetime:
        """The instant, in UTC, at which ``duration`` of business time has elapsed since ``start``.

        Open time counts, paused time does not. A due time on a closing time is that closing time.
        Raises ValueError("paused ...") when an open-ended pause begins before the due time.
        """
        s = instant_us(start, "start")
        remaining = duration_us(duration)
        blocked = merge_pauses(pauses) if pauses else []
        if remaining == 0:
            return start.astimezone(UTC)
        if not blocked:
            return add_unpaused(self, s, remaining)
        for a, b in minus(open_spans(self, s, FAR), blocked):
            if b - a >= remaining:
                return from_us(a + remaining)
            remaining -= b - a
        raise ValueError(
            f"paused: an open-ended pause from {from_us(blocked[-1][0]).isoformat()} stops the "
            "clock before the due time, which is therefore not known"
        )

    def business_time(
        self, start: datetime, end: datetime, pauses: Sequence[Pause] = ()
    ) -> timedelta:
        """Open time in [start, end) minus paused time; zero when ``end <= start``."""
        s = instant_us(start, "start")
        e = instant_us(end, "end")
        blocked = merge_pauses(pauses)
        if e <= s:
            return timedelta(0)
        spans: Iterable[Span] = open_spans(self, s, e)
        if blocked:
            spans = minus(spans, blocked)
        return timedelta(microseconds=sum(b - a for a, b in spans))

    def explain(
        self, start: datetime, end: datetime, pauses: Sequence[Pause] = ()
    ) -> list[Interval]:
        """[start, end) cut into consecutive pieces, each counted or not, with the reason."""
        s = instant_us(start, "start")
        e = instant_us(end, "end")
        blocked = merge_pauses(pauses)
        if e <= s:
            return []
        raw = [(s, e, True, "open")] if self.always_open else list(pieces(self, s, e))
        merged = merge_pieces(overlay_pauses(raw, blocked))
        return [Interval(from_us(a), from_us(b), c, r) for a, b, c, r in merged]
