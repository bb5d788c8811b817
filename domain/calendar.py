"""Business calendars and business-time arithmetic.

A calendar is data: a time zone, opening hours per weekday, holidays (from the ``holidays``
package by country and subdivision, plus explicit extra and removed dates), or 24x7.

INTERFACE FIXED; BODIES TO BE WRITTEN.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

#: An opening interval of one weekday in local wall time; ``time(0, 0)`` as the end means 24:00.
OpeningHours = tuple[tuple[time, time], ...]
#: A paused span, aware datetimes; ``None`` as the end means "still paused".
Pause = tuple[datetime, datetime | None]


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

    @classmethod
    def twenty_four_seven(cls, name: str = "24x7", version: int = 1) -> BusinessCalendar:
        raise NotImplementedError

    @property
    def working_day_length(self) -> timedelta:
        raise NotImplementedError

    def working_days(self, n: float) -> timedelta:
        raise NotImplementedError

    def holiday_name(self, day: date) -> str | None:
        raise NotImplementedError

    def is_open(self, instant: datetime) -> bool:
        raise NotImplementedError

    def next_opening(self, instant: datetime) -> datetime:
        raise NotImplementedError

    def add(self, start: datetime, duration: timedelta, pauses: Sequence[Pause] = ()) -> datetime:
        raise NotImplementedError

    def business_time(self, start: datetime, end: datetime, pauses: Sequence[Pause] = ()) -> timedelta:
        raise NotImplementedError

    def explain(self, start: datetime, end: datetime, pauses: Sequence[Pause] = ()) -> list[Interval]:
        raise NotImplementedError
