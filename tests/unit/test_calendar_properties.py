"""Properties of business-time arithmetic, checked with hypothesis on varied calendars.

The calendars cover weekends and holidays, split shifts, hours ending at 24:00, 24x7, whole days
on daylight-saving dates, hours that fall in the spring gap or the repeated autumn hour, and a
zone (Havana) whose clocks change at midnight. Starts are drawn both anywhere in 2024-2028 and
close to local wall-clock boundaries (midnight, openings, closings, the DST hours).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tickets.domain.calendar import BusinessCalendar, Pause

NINE_TO_FIVE = ((time(9), time(17)),)
CALENDARS = [
    BusinessCalendar("nl-office", "Europe/Amsterdam", {d: NINE_TO_FIVE for d in range(5)},
                     holiday_country="NL"),
    BusinessCalendar("beijing", "Asia/Shanghai", {d: ((time(9), time(0)),) for d in range(7)}),
    BusinessCalendar.twenty_four_seven(),
    BusinessCalendar("ams-all-day", "Europe/Amsterdam", {d: ((time(0), time(0)),) for d in range(7)}),
    BusinessCalendar(
        "ny-split", "America/New_York",
        {**{d: ((time(8), time(12)), (time(13), time(17, 30))) for d in range(5)},
         5: ((time(10), time(14)),)},
        holiday_country="US", extra_holidays=frozenset({date(2026, 7, 6)}),
        removed_holidays=frozenset({date(2026, 11, 11)}),
    ),
    BusinessCalendar(
        "ams-nights", "Europe/Amsterdam",
        {**{d: ((time(0), time(6)), (time(22), time(0))) for d in range(5)},
         6: ((time(1), time(2, 30)), (time(2, 30), time(4)))},
    ),
    BusinessCalendar("havana", "America/Havana", {d: ((time(0), time(0)),) for d in range(6)}),
]
BOUNDARY_HOURS = [0, 1, 2, 3, 4, 6, 8, 9, 12, 13, 17, 22, 23, 24]
JITTER_US = [0, 0, 0, 1, -1, 1_800_000_000, -1_800_000_000]
SPAN_US = 5 * 365 * 86_400_000_000
BASE = datetime(2024, 1, 1, tzinfo=UTC)
US = timedelta(microseconds=1)
DAY = timedelta(days=1)



def _clock_change_days(zone: str) -> list[date]:
    """Local dates in 2024-2028 on which the UTC offset of ``zone`` changes."""
    tz = ZoneInfo(zone)
    days = [BASE.date() + timedelta(days=n) for n in range(5 * 366)]
    offsets = [datetime.combine(d, time(0), tzinfo=tz).utcoffset() for d in days]
    return [d for d, a, b in zip(days, offsets, offsets[1:], strict=False) if a != b] or [days[0]]


CLOCK_CHANGES = {cal.timezone: _clock_change_days(cal.timezone) for cal in CALENDARS}
fast = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def instants(draw: st.DrawFn, cal: BusinessCalendar) -> datetime:
    """Anywhere in 2024-2028, or near a local wall-clock boundary, often on a clock-change day."""
    where = draw(st.sampled_from(["anywhere", "any day", "clock change"]))
    if where == "anywhere":
        return BASE + draw(st.integers(0, SPAN_US)) * US
    if where == "any day":
        day = BASE.date() + timedelta(days=draw(st.integers(0, 5 * 365)))
    else:
        day = draw(st.sampled_from(CLOCK_CHANGES[cal.timezone])) + draw(st.integers(-1, 2)) * DAY
    local = datetime.combine(day, time(0), tzinfo=ZoneInfo(cal.timezone))
    hour = draw(st.sampled_from(BOUNDARY_HOURS))
    fold = draw(st.integers(0, 1))
    wall = (local + timedelta(hours=hour)).replace(fold=fold)
    return wall.astimezone(UTC) + draw(st.sampled_from(JITTER_US)) * US


durations = st.one_of(
    st.integers(0, 40 * 86_400_000_000).map(lambda us: us * US),
    st.integers(0, 200).map(lambda h: timedelta(hours=h)),
    st.integers(0, 10).map(lambda n: timedelta(hours=8) * n),
)


@st.composite
def pause_lists(draw: st.DrawFn, start: datetime) -> list[Pause]:
    """Up to three closed pauses near ``start``, possibly overlapping or before it."""
    pauses: list[Pause] = []
    for _ in range(draw(st.integers(0, 3))):
        begin = start + draw(st.integers(-2 * 86_400, 12 * 86_400)) * timedelta(seconds=1)
        length = draw(st.integers(0, 3 * 86_400_000_000)) * US
        pauses.append((begin, begin + length))
    return pauses


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[BusinessCalendar, datetime, list[Pause]]:
    cal = draw(st.sampled_from(CALENDARS))
    start = draw(instants(cal))
    return cal, start, draw(pause_lists(start))


@fast
@given(scenarios(), durations)
def test_business_time_of_add_is_the_duration(
    scenario: tuple[BusinessCalendar, datetime, list[Pause]], duration: timedelta,
) -> None:
    cal, start, pauses = scenario
    assert cal.business_time(start, cal.add(start, duration)) == duration
    assert cal.business_time(start, cal.add(start, duration, pauses), pauses) == duration


@fast
@given(scenarios(), durations, durations)
def test_add_is_monotonic(
    scenario: tuple[BusinessCalendar, datetime, list[Pause]], a: timedelta, b: timedelta,
) -> None:
    cal, start, pauses = scenario
    shorter, longer = sorted((a, b))
    assert cal.add(start, shorter, pauses) <= cal.add(start, longer, pauses)
    assert cal.add(start, shorter) <= cal.add(start, longer)


@fast
@given(scenarios(), durations, durations)
def test_adding_in_two_steps_is_adding_the_sum(
    scenario: tuple[BusinessCalendar, datetime, list[Pause]], a: timedelta, b: timedelta,
) -> None:
    # Holds at the boundary too: a first step that ends exactly at a closing time resumes at
    # the next opening, as a single step over that closing would.
    cal, start, pauses = scenario
    assert cal.add(cal.add(start, a), b) == cal.add(start, a + b)
    assert cal.add(cal.add(start, a, pauses), b, pauses) == cal.add(start, a + b, pauses)


@fast
@given(scenarios(), durations)
def test_due_time_ends_counted_time_and_never_waits_for_the_next_opening(
    scenario: tuple[BusinessCalendar, datetime, list[Pause]], duration: timedelta,
) -> None:
    cal, start, _pauses = scenario
    due = cal.add(start, duration)
    if duration > timedelta(0):
        assert cal.is_open(due - US)
        assert cal.business_time(start, due - US) == duration - US
    else:
        assert due == start


@fast
@given(st.data())
def test_business_time_adds_up_over_a_split_point(data: st.DataObject) -> None:
    cal, start, pauses = data.draw(scenarios())
    middle = start + data.draw(st.integers(0, 10 * 86_400_000_000)) * US
    end = middle + data.draw(st.integers(0, 10 * 86_400_000_000)) * US
    whole = cal.business_time(start, end, pauses)
    assert whole == cal.business_time(start, middle, pauses) + cal.business_time(middle, end, pauses)
    assert timedelta(0) <= whole <= end - start


@fast
@given(st.data())
def test_explain_tiles_the_span_and_counts_the_business_time(data: st.DataObject) -> None:
    cal, start, pauses = data.draw(scenarios())
    end = start + data.draw(st.integers(1, 15 * 86_400_000_000)) * US
    pieces = cal.explain(start, end, pauses)
    assert pieces[0].start == start and pieces[-1].end == end
    for before, after in pairwise(pieces):
        assert before.end == after.start
        assert before.reason != after.reason
    for piece in pieces:
        assert piece.start < piece.end
        assert piece.counted == (piece.reason == "open")
    counted = sum((p.end - p.start for p in pieces if p.counted), timedelta(0))
    assert counted == cal.business_time(start, end, pauses)


@fast
@given(st.data())
def test_explain_agrees_with_is_open(data: st.DataObject) -> None:
    cal, start, _pauses = data.draw(scenarios())
    end = start + data.draw(st.integers(1, 8 * 86_400_000_000)) * US
    for piece in cal.explain(start, end):
        assert cal.is_open(piece.start) == piece.counted
        assert cal.is_open(piece.end - US) == piece.counted


@fast
@given(st.data())
def test_next_opening_is_open_and_nothing_counts_before_it(data: st.DataObject) -> None:
    cal, start, _pauses = data.draw(scenarios())
    opening = cal.next_opening(start)
    assert opening >= start
    assert cal.is_open(opening)
    assert cal.business_time(start, opening) == timedelta(0)
    assert (opening == start) == cal.is_open(start)


@fast
@given(scenarios(), durations, st.integers(-3 * 86_400, 12 * 86_400))
def test_open_ended_pause_makes_the_due_time_unknown_only_if_it_begins_before_it(
    scenario: tuple[BusinessCalendar, datetime, list[Pause]], duration: timedelta, offset: int,
) -> None:
    cal, start, pauses = scenario
    held = start + offset * timedelta(seconds=1)
    due = cal.add(start, duration, pauses)
    with_hold = [*pauses, (held, None)]
    if duration > timedelta(0) and held < due:
        with pytest.raises(ValueError, match=r"^paused"):
            cal.add(start, duration, with_hold)
    else:
        assert cal.add(start, duration, with_hold) == due
