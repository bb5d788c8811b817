"""Business calendars and business-time arithmetic.

A calendar is data: a time zone, opening hours per weekday, holidays (from the ``holidays``
package by country and subdivision, plus explicit extra and removed dates), or 24x7.

All arithmetic is done on integer microseconds since the Unix epoch (UTC), so adding business
time and measuring it again round-trips exactly. Each local date is turned once into its opening
intervals as UTC microsecond pairs and cached (see ``_day``); ``add`` walks days and intervals,
never minutes. The semantics, daylight-saving dates included, are in ``docs/calendars.md``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import holidays

#: An opening interval of one weekday in local wall time; ``time(0, 0)`` as the end means 24:00.
OpeningHours = tuple[tuple[time, time], ...]
#: A paused span, aware datetimes; ``None`` as the end means "still paused".
Pause = tuple[datetime, datetime | None]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MIDNIGHT = time(0, 0)
_DAY = timedelta(days=1)
_FAR = 2**62  # microseconds: beyond any datetime, stands for "no end"
_MAX_CLOSED_DAYS = 3660  # a search for an opening gives up after ten closed years
_DAY_US = 86_400_000_000
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_Span = tuple[int, int]
#: One local date: (start of day, start of next day, opening intervals, reason when closed).
_DayInfo = tuple[int, int, tuple[_Span, ...], str]


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
    if TYPE_CHECKING:  # derived in __post_init__; not fields, so not compared, shown or hashed
        _tz: ZoneInfo = field(init=False)
        _week: tuple[OpeningHours, ...] = field(init=False)
        _day_length: timedelta = field(init=False)
        _hash: int = field(init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("a calendar needs a non-empty name")
        where = f"calendar {self.name!r}"
        week = _week_hours(self.hours, where)
        extra = _dates(self.extra_holidays, where, "extra_holidays")
        removed = _dates(self.removed_holidays, where, "removed_holidays")
        if extra & removed:
            both = ", ".join(sorted(d.isoformat() for d in extra & removed))
            raise ValueError(f"{where}: dates both added and removed as holidays: {both}")
        if self.working_day is not None and self.working_day <= timedelta(0):
            raise ValueError(f"{where}: working_day must be positive, not {self.working_day}")
        if not self.always_open and not any(week):
            raise ValueError(f"{where} has no opening hours; give hours or always_open=True")
        if self.holiday_subdivision is not None and self.holiday_country is None:
            raise ValueError(f"{where}: holiday_subdivision needs a holiday_country")
        if self.holiday_country is not None:
            _check_country(self.holiday_country, self.holiday_subdivision, where)
        put = object.__setattr__
        put(self, "hours", _WeekHours({d: iv for d, iv in enumerate(week) if iv}))
        put(self, "extra_holidays", extra)
        put(self, "removed_holidays", removed)
        put(self, "_tz", _zone(self.timezone, where))
        put(self, "_week", week)
        put(self, "_day_length", self._compute_day_length(week))
        put(self, "_hash", hash((
            self.name, self.timezone, week, self.holiday_country, self.holiday_subdivision,
            extra, removed, self.always_open, self.working_day, self.version,
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
            return _DAY
        lengths = Counter(_nominal_length(iv) for iv in week if iv)
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
        """The name of the holiday on local date ``day``, or None when it is not one."""
        if isinstance(day, datetime):
            raise ValueError("holiday_name takes a local date, not a datetime")
        if self.always_open or day in self.removed_holidays:
            return None
        if self.holiday_country is not None:
            name = _country_holidays(self.holiday_country, self.holiday_subdivision, day.year)
            found = name.get(day)
            if found is not None:
                return found
        return "extra holiday" if day in self.extra_holidays else None

    def is_open(self, instant: datetime) -> bool:
        t = _instant_us(instant, "instant")
        if self.always_open:
            return True
        days = _days_of(self)
        ordinal = self._ordinal_of(t, days)
        opens = (days.get(ordinal) or _fill(self, days, ordinal))[2]
        return any(a <= t < b for a, b in opens)

    def next_opening(self, instant: datetime) -> datetime:
        """The first open instant at or after ``instant`` (the instant itself if open), in UTC."""
        t = _instant_us(instant, "instant")
        for a, _b in self._open_spans(t, _FAR):
            return _from_us(a)
        raise AssertionError("unreachable: _open_spans never ends without an opening")

    # -- business time -------------------------------------------------------------------------

    def add(self, start: datetime, duration: timedelta, pauses: Sequence[Pause] = ()) -> datetime:
        """The instant, in UTC, at which ``duration`` of business time has elapsed since ``start``.

        Open time counts, paused time does not. A due time on a closing time is that closing time.
        Raises ValueError("paused ...") when an open-ended pause begins before the due time.
        """
        s = _instant_us(start, "start")
        remaining = _duration_us(duration)
        blocked = _merge_pauses(pauses) if pauses else []
        if remaining == 0:
            return start.astimezone(UTC)
        if not blocked:
            return self._add_unpaused(s, remaining)
        for a, b in _minus(self._open_spans(s, _FAR), blocked):
            if b - a >= remaining:
                return _from_us(a + remaining)
            remaining -= b - a
        raise ValueError(
            f"paused: an open-ended pause from {_from_us(blocked[-1][0]).isoformat()} stops the "
            "clock before the due time, which is therefore not known"
        )

    def business_time(
        self, start: datetime, end: datetime, pauses: Sequence[Pause] = ()
    ) -> timedelta:
        """Open time in [start, end) minus paused time; zero when ``end <= start``."""
        s = _instant_us(start, "start")
        e = _instant_us(end, "end")
        blocked = _merge_pauses(pauses)
        if e <= s:
            return timedelta(0)
        spans: Iterable[_Span] = self._open_spans(s, e)
        if blocked:
            spans = _minus(spans, blocked)
        return timedelta(microseconds=sum(b - a for a, b in spans))

    def explain(
        self, start: datetime, end: datetime, pauses: Sequence[Pause] = ()
    ) -> list[Interval]:
        """[start, end) cut into consecutive pieces, each counted or not, with the reason."""
        s = _instant_us(start, "start")
        e = _instant_us(end, "end")
        blocked = _merge_pauses(pauses)
        if e <= s:
            return []
        raw = [(s, e, True, "open")] if self.always_open else list(self._pieces(s, e))
        pieces = _overlay_pauses(raw, blocked)
        merged: list[tuple[int, int, bool, str]] = []
        for a, b, counted, reason in pieces:
            if merged and merged[-1][3] == reason and merged[-1][1] == a:
                merged[-1] = (merged[-1][0], b, counted, reason)
            else:
                merged.append((a, b, counted, reason))
        return [Interval(_from_us(a), _from_us(b), c, r) for a, b, c, r in merged]

    # -- walking the timeline ------------------------------------------------------------------

    def _ordinal_of(self, t: int, days: dict[int, _DayInfo]) -> int:
        """The local date (as an ordinal) whose span [start of day, start of next day) holds t."""
        ordinal = t // _DAY_US + _EPOCH_ORDINAL  # the UTC date: at most a day off the local one
        while t < (days.get(ordinal) or _fill(self, days, ordinal))[0]:
            ordinal -= 1
        while t >= (days.get(ordinal) or _fill(self, days, ordinal))[1]:
            ordinal += 1
        return ordinal

    def _add_unpaused(self, s: int, remaining: int) -> datetime:
        """``add`` without pauses: ``_open_spans`` unrolled, as this is the hot path."""
        if self.always_open:
            return _from_us(s + remaining)
        days = _days_of(self)
        ordinal = self._ordinal_of(s, days)
        closed_days = 0
        while True:
            opens = (days.get(ordinal) or _fill(self, days, ordinal))[2]
            for a, b in opens:
                if b <= s:
                    continue
                if a < s:
                    a = s
                if b - a >= remaining:
                    return _from_us(a + remaining)
                remaining -= b - a
            closed_days = 0 if opens else closed_days + 1
            if closed_days > _MAX_CLOSED_DAYS:
                raise ValueError(f"calendar {self.name!r} does not open within ten years")
            ordinal += 1

    def _open_spans(self, s: int, e: int) -> Iterator[_Span]:
        """Open intervals clipped to [s, e), in order; ``e = _FAR`` walks on without end."""
        if self.always_open:
            yield s, e
            return
        days = _days_of(self)
        ordinal = self._ordinal_of(s, days)
        closed_days = 0
        while True:
            _start, day_end, opens, _reason = days.get(ordinal) or _fill(self, days, ordinal)
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
                raise ValueError(f"calendar {self.name!r} does not open within ten years")
            ordinal += 1

    def _pieces(self, s: int, e: int) -> Iterator[tuple[int, int, bool, str]]:
        """[s, e) as open pieces and closed pieces with the day's reason, before pauses."""
        days = _days_of(self)
        ordinal = self._ordinal_of(s, days)
        cur = s
        while cur < e:
            _start, day_end, opens, reason = days.get(ordinal) or _fill(self, days, ordinal)
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


class _WeekHours(Mapping[int, OpeningHours]):
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


# -- validation --------------------------------------------------------------------------------


def _zone(name: str, where: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, TypeError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise ValueError(f"{where}: unknown time zone {name!r}") from exc


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


def _nominal_length(intervals: OpeningHours) -> timedelta:
    return sum((_clock(b, end=True) - _clock(a) for a, b in intervals), timedelta(0))


def _dates(values: Iterable[date], where: str, what: str) -> frozenset[date]:
    result = frozenset(values)
    for d in result:
        if not isinstance(d, date) or isinstance(d, datetime):
            raise ValueError(f"{where}: {what} must hold dates, not {d!r}")
    return result


def _check_country(country: str, subdivision: str | None, where: str) -> None:
    try:
        holidays.country_holidays(country, subdiv=subdivision, years=())
    except NotImplementedError as exc:
        raise ValueError(f"{where}: unknown holiday country or subdivision: {exc}") from None


# -- caches ------------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _country_holidays(country: str, subdivision: str | None, year: int) -> dict[date, str]:
    """The country's public holidays of one year, named in US English where the package can."""
    entity = holidays.country_holidays(country, subdiv=subdivision, years=())
    language = "en_US" if "en_US" in entity.supported_languages else entity.default_language
    found = holidays.country_holidays(country, subdiv=subdivision, years=year, language=language)
    return dict(found.items())


#: Per calendar (equal calendars share), per local date ordinal: the date's ``_DayInfo``.
_DAYS: dict[BusinessCalendar, dict[int, _DayInfo]] = {}
_MAX_CALENDARS = 256
_MAX_DAYS = 1 << 15  # per calendar: about ninety years


def _days_of(cal: BusinessCalendar) -> dict[int, _DayInfo]:
    days = _DAYS.get(cal)
    if days is None:
        if len(_DAYS) >= _MAX_CALENDARS:
            _DAYS.clear()
        days = _DAYS.setdefault(cal, {})
    return days


def _fill(cal: BusinessCalendar, days: dict[int, _DayInfo], ordinal: int) -> _DayInfo:
    if len(days) >= _MAX_DAYS:
        days.clear()
    info = days[ordinal] = _day(cal, ordinal)
    return info


def _day(cal: BusinessCalendar, ordinal: int) -> _DayInfo:
    """One local date: start, start of the next date, opening intervals, reason when closed.

    A wall time skipped by a daylight-saving jump maps to the instant of the jump; a repeated wall
    time maps to its first occurrence as an opening and to its last as a closing. Every interval is
    clipped to the date's own span, so the dates tile the timeline.
    """
    tz = cal._tz
    day = date.fromordinal(ordinal)
    day_start = _wall(tz, day, _MIDNIGHT, latest=False)
    day_end = _wall(tz, day + _DAY, _MIDNIGHT, latest=False)
    holiday = cal.holiday_name(day)
    if holiday is not None:
        return day_start, day_end, (), f"holiday: {holiday}"
    intervals = cal._week[day.weekday()]
    if not intervals:
        return day_start, day_end, (), "weekend"
    opens: list[_Span] = []
    for opening, closing in intervals:
        a = max(day_start, _wall(tz, day, opening, latest=False))
        b = day_end if closing == _MIDNIGHT else min(day_end, _wall(tz, day, closing, latest=True))
        if a >= b:
            continue
        if opens and a <= opens[-1][1]:
            opens[-1] = (opens[-1][0], max(b, opens[-1][1]))
        else:
            opens.append((a, b))
    return day_start, day_end, tuple(opens), "outside hours"


def clear_caches() -> None:
    """Forget every cached day and holiday year (for benchmarks and long-lived processes)."""
    _DAYS.clear()
    _country_holidays.cache_clear()


# -- instants as integer microseconds ----------------------------------------------------------


def _instant_us(instant: datetime, what: str) -> int:
    """Microseconds since the epoch of an aware datetime; refuses naive ones."""
    try:
        delta = instant - _EPOCH
    except TypeError:
        raise ValueError(f"{what} must be a timezone-aware datetime, not {instant!r}") from None
    if not isinstance(instant, datetime):
        raise ValueError(f"{what} must be a timezone-aware datetime, not {instant!r}")
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _duration_us(duration: timedelta) -> int:
    if duration < timedelta(0):
        raise ValueError(f"a duration of business time cannot be negative: {duration}")
    return (duration.days * 86_400 + duration.seconds) * 1_000_000 + duration.microseconds


def _from_us(us: int) -> datetime:
    return _EPOCH + timedelta(0, 0, us)


def _wall(tz: ZoneInfo, day: date, at: time, latest: bool) -> int:
    """The UTC instant of local wall time ``day at``, resolving daylight-saving gaps and folds."""
    first = datetime.combine(day, at, tzinfo=tz)
    u0 = _instant_us(first, "wall time")
    u1 = _instant_us(first.replace(fold=1), "wall time")
    if u0 == u1:
        return u0
    if u0 < u1:  # the wall time happens twice: u0 is the first occurrence, u1 the second
        return u1 if latest else u0
    # The wall time never happens (the clocks jump over it): use the instant of the jump, which
    # lies in (u1, u0]; the offset at u1 is the one before the jump.
    before = _from_us(u1).astimezone(tz).utcoffset()
    lo, hi = u1, u0
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _from_us(mid).astimezone(tz).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return hi


# -- pauses ------------------------------------------------------------------------------------


def _merge_pauses(pauses: Sequence[Pause]) -> list[_Span]:
    """Pauses as sorted, merged microsecond spans; an open end becomes ``_FAR``."""
    spans: list[_Span] = []
    for pause in pauses:
        try:
            begin, finish = pause
        except (TypeError, ValueError):
            raise ValueError(f"a pause is a (start, end) pair, not {pause!r}") from None
        a = _instant_us(begin, "pause start")
        b = _FAR if finish is None else _instant_us(finish, "pause end")
        if b < a:
            raise ValueError(f"a pause ends before it starts: {begin} .. {finish}")
        if b > a:
            spans.append((a, b))
    spans.sort()
    merged: list[_Span] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def _minus(spans: Iterable[_Span], blocked: list[_Span]) -> Iterator[_Span]:
    """The parts of ordered ``spans`` outside the merged ``blocked`` spans; stops at an open end."""
    i, n = 0, len(blocked)
    for a, b in spans:
        while i < n and blocked[i][1] <= a:
            i += 1
        j = i
        while a < b:
            if j < n and blocked[j][0] < b:
                pause_start, pause_end = blocked[j]
                if pause_start > a:
                    yield a, pause_start
                if pause_end >= _FAR:
                    return
                a = max(a, pause_end)
                j += 1
            else:
                yield a, b
                break


def _overlay_pauses(
    pieces: list[tuple[int, int, bool, str]], blocked: list[_Span],
) -> Iterator[tuple[int, int, bool, str]]:
    """Re-label the paused parts of ordered, contiguous ``pieces`` as not counted, "paused"."""
    i, n = 0, len(blocked)
    for a, b, counted, reason in pieces:
        while i < n and blocked[i][1] <= a:
            i += 1
        j = i
        while a < b:
            if j < n and blocked[j][0] < b:
                pause_start, pause_end = blocked[j]
                if pause_start > a:
                    yield a, pause_start, counted, reason
                    a = pause_start
                stop = min(b, pause_end)
                yield a, stop, False, "paused"
                a = stop
                if pause_end <= b:
                    j += 1
            else:
                yield a, b, counted, reason
                break
