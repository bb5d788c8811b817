"""Business calendars, worked by hand on real dates.

Most examples use the Dutch office calendar: Monday to Friday 09:00-17:00 Europe/Amsterdam with
the Dutch public holidays as the ``holidays`` package lists them. In 2026 that is New Year's Day
(Thu 1 Jan), Good Friday (3 Apr), Easter Sunday and Monday (5-6 Apr), King's Day (Mon 27 Apr),
Ascension Day (14 May), Pentecost Sunday and Monday (24-25 May) and Christmas (Fri 25, Sat 26 Dec).
Summer time starts on Sunday 29 March 2026 and ends on Sunday 25 October 2026.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tickets.domain.calendar import BusinessCalendar, Interval
from tickets.domain.calendar_validation import is_zone, zone_problem

AMS = ZoneInfo("Europe/Amsterdam")
SHA = ZoneInfo("Asia/Shanghai")
NINE_TO_FIVE = ((time(9), time(17)),)
H = timedelta(hours=1)


def office(**changes: object) -> BusinessCalendar:
    settings: dict[str, object] = {
        "name": "nl-office", "timezone": "Europe/Amsterdam",
        "hours": {day: NINE_TO_FIVE for day in range(5)}, "holiday_country": "NL",
    }
    settings.update(changes)
    return BusinessCalendar(**settings)  # type: ignore[arg-type]


NL = office()
SHANGHAI = BusinessCalendar(
    "beijing-support", "Asia/Shanghai", {day: ((time(9), time(0)),) for day in range(7)}
)
ROUND_THE_CLOCK = BusinessCalendar.twenty_four_seven()


def ams(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0,
        microsecond: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=AMS)


def sha(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=SHA)


def utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def reasons(pieces: list[Interval]) -> list[tuple[str, str, str]]:
    """Pieces as (local start, local end, reason) for readable assertions."""
    fmt = "%a %d %H:%M"
    return [
        (p.start.astimezone(AMS).strftime(fmt), p.end.astimezone(AMS).strftime(fmt), p.reason)
        for p in pieces
    ]


# -- working days ------------------------------------------------------------------------------


def test_working_day_is_the_usual_opening_length() -> None:
    assert NL.working_day_length == 8 * H
    assert NL.working_days(5) == 40 * H
    assert NL.working_days(0.5) == 4 * H


def test_working_day_length_takes_the_most_common_day_and_the_longest_on_a_tie() -> None:
    short_friday = office(hours={**{d: NINE_TO_FIVE for d in range(4)}, 4: ((time(9), time(13)),)})
    assert short_friday.working_day_length == 8 * H
    tie = office(hours={0: NINE_TO_FIVE, 1: NINE_TO_FIVE, 2: ((time(9), time(15)),),
                        3: ((time(9), time(15)),)})
    assert tie.working_day_length == 8 * H


def test_working_day_length_can_be_given() -> None:
    assert office(working_day=timedelta(hours=7, minutes=30)).working_days(2) == 15 * H


def test_working_day_sums_split_shifts() -> None:
    split = office(hours={d: ((time(8), time(12)), (time(13), time(17, 30))) for d in range(5)})
    assert split.working_day_length == timedelta(hours=8, minutes=30)


def test_negative_working_days_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        NL.working_days(-1)


def test_five_working_days_end_at_the_same_local_time_a_week_later() -> None:
    assert NL.add(ams(2026, 6, 3, 10, 30), NL.working_days(5)) == ams(2026, 6, 10, 10, 30)


# -- holidays ----------------------------------------------------------------------------------


def test_five_working_days_skip_good_friday_and_easter_monday() -> None:
    # Mon 30 Mar 10:00: 7 h, Tue 8, Wed 8, Thu 8 (31 h); Fri 3 Apr and Mon 6 Apr are holidays;
    # Tue 7 Apr 8 h (39 h); the last hour ends on Wed 8 Apr at 10:00.
    assert NL.add(ams(2026, 3, 30, 10), NL.working_days(5)) == ams(2026, 4, 8, 10)


def test_holidays_package_lists_good_friday_and_easter_for_nl() -> None:
    assert NL.holiday_name(date(2026, 4, 3)) == "Good Friday"
    assert NL.holiday_name(date(2026, 4, 5)) == "Easter Sunday"
    assert NL.holiday_name(date(2026, 4, 6)) == "Easter Monday"
    assert NL.holiday_name(date(2026, 4, 7)) is None


def test_one_working_day_skips_kings_day_2026() -> None:
    # Fri 24 Apr 13:00: 4 h; Mon 27 Apr is King's Day; Tue 28 Apr 4 h.
    assert NL.holiday_name(date(2026, 4, 27)) == "King's Day"
    assert NL.add(ams(2026, 4, 24, 13), NL.working_days(1)) == ams(2026, 4, 28, 13)


def test_kings_day_2025_falls_on_saturday_26_april() -> None:
    # 27 April 2025 was a Sunday, so King's Day moved to the Saturday before.
    assert NL.holiday_name(date(2025, 4, 26)) == "King's Day"
    assert NL.holiday_name(date(2025, 4, 27)) is None
    assert NL.add(ams(2025, 4, 25, 13), NL.working_days(1)) == ams(2025, 4, 28, 13)


def test_liberation_day_is_a_holiday_only_every_fifth_year() -> None:
    assert NL.holiday_name(date(2025, 5, 5)) == "Liberation Day"
    assert NL.holiday_name(date(2026, 5, 5)) is None
    assert NL.holiday_name(date(2030, 5, 5)) == "Liberation Day"


def test_one_working_day_over_christmas_2026() -> None:
    # Thu 24 Dec 15:00: 2 h; Fri 25 Christmas; Sat 26, Sun 27; Mon 28 Dec 6 h.
    assert NL.holiday_name(date(2026, 12, 25)) == "Christmas Day"
    assert NL.holiday_name(date(2026, 12, 26)) == "Second Day of Christmas"
    assert NL.add(ams(2026, 12, 24, 15), NL.working_days(1)) == ams(2026, 12, 28, 15)


def test_two_hours_over_christmas_2025_skip_both_christmas_days() -> None:
    # Wed 24 Dec 16:00: 1 h; Thu 25 and Fri 26 are holidays; Mon 29 Dec 09:00 + 1 h.
    assert NL.add(ams(2025, 12, 24, 16), 2 * H) == ams(2025, 12, 29, 10)


def test_one_working_day_over_new_year() -> None:
    # Wed 31 Dec 2025 16:00: 1 h; Thu 1 Jan is New Year's Day; Fri 2 Jan 09:00 + 7 h.
    assert NL.holiday_name(date(2026, 1, 1)) == "New Year's Day"
    assert NL.add(ams(2025, 12, 31, 16), NL.working_days(1)) == ams(2026, 1, 2, 16)
    assert NL.business_time(ams(2025, 12, 31, 16), ams(2026, 1, 2, 16)) == 8 * H


def test_extra_holiday_closes_the_day() -> None:
    cal = office(extra_holidays=frozenset({date(2026, 6, 1)}))
    assert cal.holiday_name(date(2026, 6, 1)) == "extra holiday"
    # Fri 29 May 13:00: 4 h; Mon 1 Jun closed; Tue 2 Jun 4 h.
    assert cal.add(ams(2026, 5, 29, 13), cal.working_days(1)) == ams(2026, 6, 2, 13)
    assert not cal.is_open(ams(2026, 6, 1, 12))


def test_removed_holiday_is_a_working_day_again() -> None:
    cal = office(removed_holidays=frozenset({date(2026, 4, 6)}))
    assert cal.holiday_name(date(2026, 4, 6)) is None
    # Thu 2 Apr 13:00: 4 h; Fri 3 Apr is still Good Friday; Mon 6 Apr is open again.
    assert cal.add(ams(2026, 4, 2, 13), cal.working_days(1)) == ams(2026, 4, 6, 13)


def test_a_date_cannot_be_both_added_and_removed() -> None:
    with pytest.raises(ValueError, match="both added and removed"):
        office(extra_holidays={date(2026, 6, 1)}, removed_holidays={date(2026, 6, 1)})


def test_holiday_subdivision_is_checked() -> None:
    with pytest.raises(ValueError, match="subdivision"):
        office(holiday_subdivision="Atlantis")


# -- opening, closing and the next opening ----------------------------------------------------


def test_start_outside_hours_starts_at_the_next_opening() -> None:
    assert NL.add(ams(2026, 6, 6, 12), H) == ams(2026, 6, 8, 10)  # Saturday noon
    assert NL.add(ams(2026, 6, 8, 7), 8 * H) == ams(2026, 6, 8, 17)  # Monday 07:00
    assert NL.add(ams(2026, 6, 8, 18), NL.working_days(1)) == ams(2026, 6, 9, 17)


def test_due_time_exactly_at_closing_is_the_closing_time() -> None:
    assert NL.add(ams(2026, 6, 8, 9), 8 * H) == ams(2026, 6, 8, 17)
    assert NL.add(ams(2026, 6, 12, 13), 4 * H) == ams(2026, 6, 12, 17)  # Friday, not Monday
    # Friday 17:00 is closed: five working days count from Monday 09:00 and end on Friday 17:00.
    assert NL.add(ams(2026, 6, 12, 17), NL.working_days(5)) == ams(2026, 6, 19, 17)


def test_add_returns_utc_and_zero_returns_the_start() -> None:
    due = NL.add(ams(2026, 6, 8, 10), H)
    assert due.tzinfo is UTC
    assert due == utc(2026, 6, 8, 9)
    saturday = ams(2026, 6, 6, 12)
    assert NL.add(saturday, timedelta(0)) == saturday
    assert NL.add(saturday, timedelta(0)).tzinfo is UTC


def test_is_open_includes_the_opening_and_excludes_the_closing() -> None:
    assert NL.is_open(ams(2026, 6, 8, 9))
    assert NL.is_open(ams(2026, 6, 8, 16, 59, 59, 999999))
    assert not NL.is_open(ams(2026, 6, 8, 17))
    assert not NL.is_open(ams(2026, 6, 8, 8, 59))
    assert not NL.is_open(ams(2026, 6, 6, 12))  # Saturday
    assert not NL.is_open(ams(2026, 4, 6, 12))  # Easter Monday


def test_next_opening() -> None:
    assert NL.next_opening(ams(2026, 6, 8, 10, 15)) == ams(2026, 6, 8, 10, 15)
    assert NL.next_opening(ams(2026, 6, 12, 17)) == ams(2026, 6, 15, 9)
    assert NL.next_opening(ams(2026, 4, 2, 17, 30)) == ams(2026, 4, 7, 9)  # over Easter
    assert NL.next_opening(ams(2026, 6, 8, 10)).tzinfo is UTC


def test_split_shift_skips_lunch() -> None:
    split = office(hours={d: ((time(8), time(12)), (time(13), time(17))) for d in range(5)})
    assert split.add(ams(2026, 6, 8, 11), 2 * H) == ams(2026, 6, 8, 14)
    assert split.add(ams(2026, 6, 8, 8), 4 * H) == ams(2026, 6, 8, 12)
    assert split.next_opening(ams(2026, 6, 8, 12, 30)) == ams(2026, 6, 8, 13)


# -- business time -----------------------------------------------------------------------------


def test_business_time_counts_only_open_time() -> None:
    assert NL.business_time(ams(2026, 6, 5, 16), ams(2026, 6, 8, 10)) == 2 * H
    assert NL.business_time(ams(2026, 6, 8, 10), ams(2026, 6, 8, 10)) == timedelta(0)
    assert NL.business_time(ams(2026, 6, 8, 12), ams(2026, 6, 8, 10)) == timedelta(0)


def test_business_time_over_easter_week() -> None:
    # Mon 30 Mar 09:00 to Fri 10 Apr 17:00: ten weekdays, two of them holidays.
    assert NL.business_time(ams(2026, 3, 30, 9), ams(2026, 4, 10, 17)) == 64 * H


# -- daylight saving time ----------------------------------------------------------------------


def test_nine_to_five_is_eight_hours_over_the_spring_change() -> None:
    # Summer time starts on Sunday 29 March 2026: Friday 10:00 CET + 8 h is Monday 10:00 CEST.
    due = NL.add(ams(2026, 3, 27, 10), NL.working_days(1))
    assert due == ams(2026, 3, 30, 10) == utc(2026, 3, 30, 8)
    assert NL.business_time(ams(2026, 3, 27, 9), ams(2026, 3, 30, 9)) == 8 * H


def test_nine_to_five_is_eight_hours_over_the_autumn_change() -> None:
    due = NL.add(ams(2026, 10, 23, 10), NL.working_days(1))
    assert due == ams(2026, 10, 26, 10) == utc(2026, 10, 26, 9)
    assert NL.business_time(ams(2026, 10, 23, 9), ams(2026, 10, 26, 9)) == 8 * H


def test_whole_local_days_are_23_and_25_hours_on_change_dates() -> None:
    cal = BusinessCalendar("ams-all-day", "Europe/Amsterdam",
                           {d: ((time(0), time(0)),) for d in range(7)})
    assert cal.working_day_length == 24 * H
    assert cal.business_time(ams(2026, 3, 29), ams(2026, 3, 30)) == 23 * H
    assert cal.business_time(ams(2026, 10, 25), ams(2026, 10, 26)) == 25 * H
    assert cal.business_time(ams(2026, 6, 1), ams(2026, 6, 2)) == 24 * H
    assert cal.add(ams(2026, 3, 29), 23 * H) == ams(2026, 3, 30)


def test_hours_inside_the_spring_gap_start_when_the_clocks_jump() -> None:
    # 02:30 does not exist on 29 March 2026: the opening starts at the jump, 03:00 CEST.
    cal = BusinessCalendar("night", "Europe/Amsterdam", {6: ((time(2, 30), time(4)),)})
    assert cal.business_time(ams(2026, 3, 29), ams(2026, 3, 30)) == H
    assert cal.next_opening(ams(2026, 3, 29)) == utc(2026, 3, 29, 1)


def test_hours_ending_in_the_repeated_autumn_hour_end_at_its_last_occurrence() -> None:
    # 02:30 happens twice on 25 October 2026; the closing is the second one (02:30 CET).
    cal = BusinessCalendar("night", "Europe/Amsterdam", {6: ((time(1), time(2, 30)),)})
    assert cal.business_time(ams(2026, 10, 25), ams(2026, 10, 26)) == timedelta(hours=2, minutes=30)
    assert cal.add(ams(2026, 10, 25), 2 * H) == utc(2026, 10, 25, 1)


def test_twenty_four_seven_is_plain_utc_arithmetic() -> None:
    start = ams(2026, 3, 28, 12)
    assert ROUND_THE_CLOCK.working_day_length == 24 * H
    # 24 h of elapsed time, although the wall clock moves on 25 h (Python's aware "+" would not).
    assert ROUND_THE_CLOCK.add(start, 24 * H) == start.astimezone(UTC) + 24 * H
    assert ROUND_THE_CLOCK.add(start, 24 * H) == ams(2026, 3, 29, 13)
    assert ROUND_THE_CLOCK.business_time(start, ams(2026, 3, 29, 12)) == 23 * H
    assert ROUND_THE_CLOCK.holiday_name(date(2026, 12, 25)) is None
    assert ROUND_THE_CLOCK.is_open(ams(2026, 12, 25, 3))
    assert ROUND_THE_CLOCK.explain(start, start + H) == [
        Interval(start.astimezone(UTC), (start + H).astimezone(UTC), True, "open")
    ]


# -- Shanghai, 09:00-24:00 every day -----------------------------------------------------------


def test_shanghai_working_day_is_fifteen_hours() -> None:
    assert SHANGHAI.working_day_length == 15 * H


def test_shanghai_due_exactly_at_midnight_stays_at_midnight() -> None:
    due = SHANGHAI.add(sha(2026, 5, 1, 9), SHANGHAI.working_days(1))
    assert due == sha(2026, 5, 2, 0) == utc(2026, 5, 1, 16)


def test_shanghai_one_working_day_ends_at_the_same_time_next_day() -> None:
    assert SHANGHAI.add(sha(2026, 5, 1, 10), SHANGHAI.working_days(1)) == sha(2026, 5, 2, 10)
    assert SHANGHAI.add(sha(2026, 5, 1, 23), 2 * H) == sha(2026, 5, 2, 10)


def test_shanghai_is_closed_from_midnight_to_nine() -> None:
    assert SHANGHAI.is_open(sha(2026, 5, 1, 23, 59, 59))
    assert not SHANGHAI.is_open(sha(2026, 5, 2, 0))
    assert SHANGHAI.next_opening(sha(2026, 5, 2, 0)) == sha(2026, 5, 2, 9)


# -- pauses ------------------------------------------------------------------------------------


def test_paused_time_does_not_count() -> None:
    pause = (ams(2026, 6, 8, 11), ams(2026, 6, 8, 13))
    assert NL.add(ams(2026, 6, 8, 9), 4 * H, [pause]) == ams(2026, 6, 8, 15)
    assert NL.business_time(ams(2026, 6, 8, 9), ams(2026, 6, 8, 17), [pause]) == 6 * H


def test_overlapping_pauses_count_once() -> None:
    pauses = [(ams(2026, 6, 8, 11), ams(2026, 6, 8, 13)), (ams(2026, 6, 8, 12), ams(2026, 6, 8, 14))]
    assert NL.business_time(ams(2026, 6, 8, 9), ams(2026, 6, 8, 17), pauses) == 5 * H
    assert NL.add(ams(2026, 6, 8, 9), 4 * H, pauses) == ams(2026, 6, 8, 16)


def test_pause_over_the_start_delays_the_countdown() -> None:
    pause = (ams(2026, 6, 5, 12), ams(2026, 6, 8, 11))
    assert NL.add(ams(2026, 6, 5, 14), H, [pause]) == ams(2026, 6, 8, 12)


def test_open_ended_pause_before_the_due_time_makes_it_unknown() -> None:
    pause = (ams(2026, 6, 8, 11), None)
    with pytest.raises(ValueError, match="paused"):
        NL.add(ams(2026, 6, 8, 9), 4 * H, [pause])
    assert NL.add(ams(2026, 6, 8, 9), 2 * H, [pause]) == ams(2026, 6, 8, 11)
    assert NL.business_time(ams(2026, 6, 8, 9), ams(2026, 6, 9, 17), [pause]) == 2 * H


def test_pause_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="ends before it starts"):
        NL.add(ams(2026, 6, 8, 9), H, [(ams(2026, 6, 8, 11), ams(2026, 6, 8, 10))])


# -- explain -----------------------------------------------------------------------------------


def test_explain_names_every_reason_over_easter() -> None:
    pieces = NL.explain(ams(2026, 4, 2, 16), ams(2026, 4, 7, 10))
    assert reasons(pieces) == [
        ("Thu 02 16:00", "Thu 02 17:00", "open"),
        ("Thu 02 17:00", "Fri 03 00:00", "outside hours"),
        ("Fri 03 00:00", "Sat 04 00:00", "holiday: Good Friday"),
        ("Sat 04 00:00", "Sun 05 00:00", "weekend"),
        ("Sun 05 00:00", "Mon 06 00:00", "holiday: Easter Sunday"),
        ("Mon 06 00:00", "Tue 07 00:00", "holiday: Easter Monday"),
        ("Tue 07 00:00", "Tue 07 09:00", "outside hours"),
        ("Tue 07 09:00", "Tue 07 10:00", "open"),
    ]
    assert [p.counted for p in pieces] == [True, False, False, False, False, False, False, True]


def test_explain_marks_paused_spans_and_merges_neighbours() -> None:
    pause = (ams(2026, 6, 8, 16), ams(2026, 6, 9, 10))
    pieces = NL.explain(ams(2026, 6, 8, 15), ams(2026, 6, 9, 12), [pause])
    assert reasons(pieces) == [
        ("Mon 08 15:00", "Mon 08 16:00", "open"),
        ("Mon 08 16:00", "Tue 09 10:00", "paused"),
        ("Tue 09 10:00", "Tue 09 12:00", "open"),
    ]
    assert sum((p.end - p.start for p in pieces if p.counted), timedelta(0)) == 3 * H


def test_explain_of_an_empty_span_is_empty() -> None:
    assert NL.explain(ams(2026, 6, 8, 10), ams(2026, 6, 8, 10)) == []


# -- validation --------------------------------------------------------------------------------


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2026, 6, 8, 10)
    with pytest.raises(ValueError, match="timezone-aware"):
        NL.add(naive, H)
    with pytest.raises(ValueError, match="timezone-aware"):
        NL.business_time(ams(2026, 6, 8, 10), naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        NL.is_open(naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        NL.add(ams(2026, 6, 8, 10), H, [(naive, None)])


def test_negative_duration_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        NL.add(ams(2026, 6, 8, 10), -H)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"timezone": "Europe/Atlantis"}, "unknown time zone"),
        ({"hours": {0: ((time(17), time(9)),)}}, "before it starts"),
        ({"hours": {0: ((time(9), time(9)),)}}, "before it starts"),
        ({"hours": {0: ((time(9), time(13)), (time(12), time(17)))}}, "must not overlap"),
        ({"hours": {0: ((time(13), time(17)), (time(9), time(12)))}}, "sorted"),
        ({"hours": {7: NINE_TO_FIVE}}, "weekday"),
        ({"hours": {}}, "no opening hours"),
        ({"holiday_country": "XX"}, "holiday country"),
        ({"holiday_country": "utils"}, "holiday country"),
        ({"holiday_country": "HolidayBase"}, "holiday country"),
        ({"timezone": "Europe"}, "unknown time zone"),
        ({"timezone": "America"}, "unknown time zone"),
        ({"working_day": timedelta(0)}, "positive"),
        ({"extra_holidays": frozenset({datetime(2026, 6, 1, tzinfo=UTC)})}, "dates"),
    ],
)
def test_invalid_calendars_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        office(**changes)


def test_calendar_compares_and_hashes_by_value() -> None:
    again = office(hours={day: [(time(9), time(17))] for day in range(5)})
    assert again == NL
    assert hash(again) == hash(NL)
    assert NL.hours == {day: NINE_TO_FIVE for day in range(5)}
    assert dataclasses.replace(NL, version=2) != NL
    assert pickle.loads(pickle.dumps(NL)) == NL


def zone_root_files() -> set[str]:
    """Every file under the zone roots, as a key (zones, stray files, the posix/ and right/ copies)."""
    from zoneinfo import TZPATH

    found: set[str] = set()
    for root in TZPATH:
        for folder, _, files in os.walk(root):
            found.update(os.path.relpath(os.path.join(folder, f), root) for f in files)
    return found


def test_a_zone_is_known_exactly_when_the_zone_database_lists_it() -> None:
    """Checked one name at a time, the answer is ``available_timezones()``'s for every file and
    folder of the zone roots and for names that are not keys."""
    from zoneinfo import available_timezones

    listed = available_timezones()
    names = zone_root_files() | listed | {
        "Europe", "America/Argentina", "posix", "right", "posixrules", "posix/Europe/Amsterdam",
        "right/UTC", "Europe/../UTC", "/usr/share/zoneinfo/UTC", "Europe//Amsterdam", "./UTC",
        "Europe/Amsterdam/", "europe/amsterdam", "Europe/Amsterdam\0", " UTC", "", "..", "Mars/Olympus"}
    assert len(listed) > 300
    assert {n for n in names if is_zone(n)} == listed & names
    assert zone_problem("Europe/Amsterdam") is None
    assert zone_problem(7) == "unknown time zone 7: not a zone of the IANA time zone database"
    assert zone_problem("Europe") is not None
