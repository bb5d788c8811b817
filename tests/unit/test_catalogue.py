"""Policy files: the shipped desks, the duration syntax, and every kind of bad file refused."""

from __future__ import annotations

import re
import shutil
from datetime import date, time, timedelta
from pathlib import Path

import pytest

from tickets.application.policy_files import load_catalogue, load_desk, shipped_policies
from tickets.domain.calendar import BusinessCalendar
from tickets.domain.catalogue import Catalogue
from tickets.domain.durations import parse_duration
from tickets.domain.errors import EntitlementError, PolicyError, ValidationError
from tickets.domain.policy import Desk, TargetKind

FIRST, RESOLUTION = TargetKind.FIRST_RESPONSE, TargetKind.RESOLUTION
H = timedelta(hours=1)

# A small valid desk; durations in hours so that these tests do not need working-day arithmetic.
BASE = """\
[desk]
id = "acme"
name = "Acme support"
version = 1
ticket_prefix = "ACM"
default_plan = "standard"
default_category = "technical"
warning_threshold = 0.75

[calendars.office]
timezone = "Europe/Amsterdam"
hours = { mon = "09:00-17:00", tue = ["09:00-12:00", "13:00-17:00"], sat = "10:00-24:00" }
holidays = { country = "NL" }
extra_holidays = ["2026-12-24", 2026-12-31]

[calendars.always]
always_open = true

[inactivity]
calendar = "office"
warn_after = "24 hours"
close_after = "40 hours"

[categories.technical]
[categories.billing]
max_severity = "B"

[fields.site_id]
pattern = "[0-9]{4}"
description = "the site's 4-digit ID"

[plans.standard]
who_may_open = ["admin"]
default_severity = "B"

[plans.standard.severities.A]
description = "down"
first_response = { within = "1 hour", calendar = "always" }
resolution = { within = "4 hours", calendar = "always" }

[plans.standard.severities.B]
description = "degraded"
first_response = { within = "90m", calendar = "office" }
"""


WHO = 'who_may_open = ["admin"]'
NL = 'holidays = { country = "NL" }'


def write(folder: Path, text: str, name: str = "acme.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def shipped() -> Catalogue:
    return load_catalogue()


def target(desk: Desk, plan: str, severity: str, kind: TargetKind = FIRST) -> timedelta:
    return desk.plans[plan].severities[severity].targets[kind].duration


# ---------------------------------------------------------------- durations


class EightHourDays(BusinessCalendar):
    def working_days(self, n: float) -> timedelta:
        return 8 * H * n


OFFICE = EightHourDays("office", always_open=True)


@pytest.mark.parametrize(("text", "expected"), [
    ("1 hour", H), ("4 hours", 4 * H), ("30 minutes", timedelta(minutes=30)), ("1h", H),
    ("90m", timedelta(minutes=90)), ("24 hours", 24 * H), ("1h 30m", timedelta(minutes=90)),
    ("1.5 hours", timedelta(minutes=90)), ("  2 HOURS ", 2 * H),
])
def test_plain_durations_are_read_as_written(text: str, expected: timedelta) -> None:
    assert parse_duration(text, None) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("1 working day", 8 * H), ("3 working days", 24 * H), ("2.5 working days", 20 * H),
    ("1 working day 4 hours", 12 * H),
])
def test_working_days_come_from_the_calendar(text: str, expected: timedelta) -> None:
    assert parse_duration(text, OFFICE) == expected


@pytest.mark.parametrize(("text", "reason"), [
    ("", "cannot read"), ("soon", "cannot read"), ("1 hour and a bit", "cannot read"),
    ("3 days", "calendar days are not business time"), ("2d", "calendar days"),
    ("0 hours", "longer than zero"), ("-1 hour", "cannot read"),
])
def test_unreadable_durations_are_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_duration(text, OFFICE)


def test_working_days_without_a_calendar_are_refused() -> None:
    with pytest.raises(ValueError, match="working days need a calendar"):
        parse_duration("1 working day", None)


# ---------------------------------------------------------------- a valid file


def test_a_valid_file_loads_into_the_model(tmp_path: Path) -> None:
    desk = load_desk(write(tmp_path, BASE))
    office = desk.calendars["office"]
    assert desk.source == str(tmp_path / "acme.toml")
    assert (office.timezone, office.holiday_country, office.holiday_subdivision) == (
        "Europe/Amsterdam", "NL", None)
    assert office.hours == {
        0: ((time(9), time(17)),),
        1: ((time(9), time(12)), (time(13), time(17))),
        5: ((time(10), time(0)),),  # 24:00 is written as time(0, 0)
    }
    assert office.extra_holidays == {date(2026, 12, 24), date(2026, 12, 31)}
    assert desk.calendars["always"].always_open
    assert list(desk.plans["standard"].severities) == ["A", "B"]
    a = desk.plans["standard"].severities["A"]
    assert a.targets[RESOLUTION].duration == 4 * H
    assert a.targets[RESOLUTION].calendar is desk.calendars["always"]
    assert desk.plans["standard"].severities["B"].targets[FIRST].text == "90m"
    assert (desk.inactivity.warn_text, desk.inactivity.close_after) == ("24 hours", 40 * H)
    assert desk.categories["billing"].max_severity == "B"
    assert desk.required_fields["site_id"].pattern == "[0-9]{4}"
    assert (desk.editors_per_site, desk.reopen_within) == (None, None)


# ---------------------------------------------------------------- bad files

BAD = {
    "missing key": ('name = "Acme support"\n', "", "desk.name", "missing required key"),
    "missing table": ('[inactivity]\ncalendar = "office"\nwarn_after = "24 hours"\n'
                      'close_after = "40 hours"\n', "", "inactivity", "missing required key"),
    "wrong type": ("version = 1", 'version = "1"', "desk.version",
                   "must be an integer, not a string"),
    "target not a table": ('first_response = { within = "90m", calendar = "office" }',
                           'first_response = "90m"',
                           "plans.standard.severities.B.first_response", "must be a table"),
    "typo in a key": ('first_response = { within = "1 hour"',
                      'frist_response = { within = "1 hour"',
                      "plans.standard.severities.A.frist_response",
                      "did you mean 'first_response'?"),
    "unknown top-level table": ("[categories.technical]", "[categorys.technical]",
                                "categorys", "unknown key"),
    "unparsable duration": ('"90m"', '"90 mins or so"',
                            "plans.standard.severities.B.first_response.within", "cannot read"),
    "calendar days": ('close_after = "40 hours"', 'close_after = "5 days"',
                      "inactivity.close_after", "calendar days are not business time"),
    "unknown calendar": ('calendar = "always" }\nresolution', 'calendar = "24x7" }\nresolution',
                         "plans.standard.severities.A.first_response.calendar",
                         "unknown calendar '24x7'; this file defines: office, always"),
    "unknown timezone": ("Europe/Amsterdam", "Europe/Amsterdm", "calendars.office.timezone",
                         "unknown time zone"),
    "backwards range": ('mon = "09:00-17:00"', 'mon = "17:00-09:00"',
                        "calendars.office.hours.mon[0]", "at most 24:00"),
    "range past midnight": ('mon = "09:00-17:00"', 'mon = "09:00-25:00"',
                            "calendars.office.hours.mon[0]", "at most 24:00"),
    "not a range": ('mon = "09:00-17:00"', 'mon = "9 to 5"', "calendars.office.hours.mon[0]",
                    "is not a range"),
    "overlapping ranges": ('"13:00-17:00"', '"11:00-17:00"', "calendars.office.hours.tue",
                           "overlap"),
    "unknown weekday": ("mon = ", "monday = ", "calendars.office.hours.monday",
                        "did you mean 'mon'?"),
    "no opening hours": ('hours = { mon = "09:00-17:00", tue = ["09:00-12:00", "13:00-17:00"], '
                         'sat = "10:00-24:00" }', "hours = {}", "calendars.office.hours",
                         "at least one opening range"),
    "hours on a 24x7 calendar": ("always_open = true", 'always_open = true\nhours = {}',
                                 "calendars.always.hours", "always-open calendar takes no hours"),
    "unknown holiday country": ('country = "NL"', 'country = "XX"',
                                "calendars.office.holidays.country", "unknown holiday country"),
    "unknown holiday subdivision": ('country = "NL"', 'country = "NL", subdivision = "ZZ"',
                                    "calendars.office.holidays.subdivision",
                                    "unknown subdivision 'ZZ' of NL; subdivisions: Midden"),
    "bad date": ('"2026-12-24"', '"24/12/2026"', "calendars.office.extra_holidays[0]",
                 "is not a date"),
    "threshold above one": ("warning_threshold = 0.75", "warning_threshold = 1.5",
                            "desk.warning_threshold", "between 0 and 1"),
    "threshold of one": ("warning_threshold = 0.75", "warning_threshold = 1",
                         "desk.warning_threshold", "between 0 and 1"),
    "threshold zero": ("warning_threshold = 0.75", "warning_threshold = 0.0",
                       "desk.warning_threshold", "between 0 and 1"),
    "max severity not in a plan": ('max_severity = "B"', 'max_severity = "P2"',
                                   "categories.billing.max_severity",
                                   "'P2' is not a severity of plan 'standard'"),
    "unknown default plan": ('default_plan = "standard"', 'default_plan = "gold"',
                             "desk.default_plan", "'gold' is not one of: standard"),
    "unknown default category": ('default_category = "technical"', 'default_category = "tech"',
                                 "desk.default_category", "is not one of"),
    "unknown default severity": ('default_severity = "B"', 'default_severity = "C"',
                                 "plans.standard.default_severity", "is not one of: A, B"),
    "bad ticket prefix": ('ticket_prefix = "ACM"', 'ticket_prefix = "acme1"',
                          "desk.ticket_prefix", "2 to 4 capital letters"),
    "bad desk id": ('id = "acme"', 'id = "Acme Corp"', "desk.id", "is not valid"),
    "bad field name": ("[fields.site_id]", '[fields."Site ID"]', "fields.Site ID",
                       "not a valid field name"),
    "bad regex": ('pattern = "[0-9]{4}"', 'pattern = "[0-9{4}"', "fields.site_id.pattern",
                  "not a valid regular expression"),
    "empty who_may_open": ('who_may_open = ["admin"]', "who_may_open = []",
                           "plans.standard.who_may_open", "at least one name"),
    "warning after closing": ('warn_after = "24 hours"', 'warn_after = "40 hours"',
                              "inactivity.warn_after", "shorter than close_after"),
    "unknown table": ("[plans.standard.severities.A]", "[extra.A]", "extra", "unknown key"),
    "bad severity name": ("severities.B]", "severities.\"B C\"]",
                          "plans.standard.severities.B C", "not a valid severity name"),
    "targets for a role that may not open": (WHO, WHO + '\ntargets_for = ["member"]',
                                             "plans.standard.targets_for[0]",
                                             "'member' may not open tickets under this plan"),
    "targets for no role": (WHO, WHO + "\ntargets_for = []", "plans.standard.targets_for",
                            "at least one name"),
    "starting level off the ladder": (WHO, WHO + '\nstarting_level = { admin = "level_9" }',
                                      "plans.standard.starting_level.admin",
                                      "'level_9' is not a level of desk.escalation_levels"),
    "starting level of a role that may not open": (
        WHO, WHO + '\nstarting_level = { guest = "level_2" }',
        "plans.standard.starting_level.guest", "'guest' may not open tickets"),
    "starting level not a name": (WHO, WHO + "\nstarting_level = { admin = 2 }",
                                  "plans.standard.starting_level.admin", "must be a string"),
    "category calendar unknown": ('max_severity = "B"', 'max_severity = "B"\ncalendar = "weekends"',
                                  "categories.billing.calendar", "unknown calendar 'weekends'"),
    "holiday exception unknown": ('country = "NL"', 'country = "NL", except = ["Good Fryday"]',
                                  "calendars.office.holidays.except[0]",
                                  "is not a holiday the holidays package names for NL"),
    "pinned holidays: not a year": (NL, NL + "\nholiday_dates = { 26 = {} }",
                                    "calendars.office.holiday_dates.26", "is not a year"),
    "pinned holiday of another year": (
        NL, NL + '\nholiday_dates = { 2026 = { 2027-01-01 = "New Year" } }',
        "calendars.office.holiday_dates.2026.2027-01-01", "is not in 2026"),
    "pinned holiday not a date": (
        NL, NL + '\nholiday_dates = { 2026 = { 2026-13-01 = "x" } }',
        "calendars.office.holiday_dates.2026.2026-13-01", "is not a date"),
    "pinned holiday without a name": (
        NL, NL + "\nholiday_dates = { 2026 = { 2026-01-01 = 1 } }",
        "calendars.office.holiday_dates.2026.2026-01-01", "must be a string"),
    "plan's calendar for an unknown category": (
        WHO, WHO + '\ncategory_calendars = { billnig = "office" }',
        "plans.standard.category_calendars.billnig", "'billnig' is not a category of this file"),
    "plan's category calendar unknown": (
        WHO, WHO + '\ncategory_calendars = { billing = "weekends" }',
        "plans.standard.category_calendars.billing", "unknown calendar 'weekends'"),
    "pinned holidays without a country": (NL, "holiday_dates = { 2026 = {} }",
                                          "calendars.office.holiday_dates",
                                          "pinned holiday dates need holidays"),
    "retention in working days": ('ticket_prefix = "ACM"',
                                  'ticket_prefix = "ACM"\nretention = "5 working days"',
                                  "desk.retention", "a number of days, months or years"),
    "retention of zero months": ('ticket_prefix = "ACM"',
                                 'ticket_prefix = "ACM"\nretention = "0 months"',
                                 "desk.retention", "a number of days, months or years"),
    "retention not text": ('ticket_prefix = "ACM"', 'ticket_prefix = "ACM"\nretention = 24',
                           "desk.retention", "must be a string"),
    "personal not a flag": ('pattern = "[0-9]{4}"', 'pattern = "[0-9]{4}"\npersonal = "yes"',
                            "fields.site_id.personal", "must be true or false"),
}


#: Names ``zoneinfo`` can open but that are no zone (folders, stray files), and plain typos.
NOT_ZONES = ("Europe", "America", "Asia", "Etc", "", "Europe/", "zone1970.tab", "Amsterdam",
             "../etc/passwd")
#: Names the ``holidays`` package answers to as attributes but that are no country, and typos.
NOT_COUNTRIES = ("utils", "HolidayBase", "holidays", "countries", "financial", "XX", "nl", "")


@pytest.mark.parametrize("zone", NOT_ZONES)
def test_a_name_that_is_no_zone_of_the_database_is_refused(zone: str, tmp_path: Path) -> None:
    path = write(tmp_path, BASE.replace('"Europe/Amsterdam"', repr(zone).replace("'", '"'), 1))
    with pytest.raises(PolicyError) as caught:
        load_desk(path)
    assert (caught.value.file, caught.value.key) == (str(path), "calendars.office.timezone")
    assert "not a zone of the IANA time zone database" in caught.value.message


@pytest.mark.parametrize("country", NOT_COUNTRIES)
def test_a_name_that_is_no_supported_country_is_refused(country: str, tmp_path: Path) -> None:
    path = write(tmp_path, BASE.replace('country = "NL"', f'country = "{country}"', 1))
    with pytest.raises(PolicyError) as caught:
        load_desk(path)
    assert (caught.value.file, caught.value.key) == (str(path), "calendars.office.holidays.country")
    assert "not a country the holidays package supports" in caught.value.message


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_file_is_refused_naming_file_key_and_reason(case: str, tmp_path: Path) -> None:
    old, new, key, reason = BAD[case]
    assert old in BASE
    path = write(tmp_path, BASE.replace(old, new, 1))
    with pytest.raises(PolicyError) as caught:
        load_desk(path)
    assert (caught.value.file, caught.value.key) == (str(path), key)
    assert reason in caught.value.message
    assert str(caught.value).startswith(f"{path}: {key}: ")


def test_a_toml_syntax_error_reports_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.replace('version = 1', 'version = ', 1))
    with pytest.raises(PolicyError) as caught:
        load_desk(path)
    assert caught.value.file == str(path)
    assert "not valid TOML" in caught.value.message
    assert "line 4, column 11" in caught.value.message


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read the file") as caught:
        load_desk(tmp_path / "nowhere.toml")
    assert caught.value.file == str(tmp_path / "nowhere.toml")


# ---------------------------------------------------------------- the catalogue


def test_the_shipped_desks_are_the_five_of_the_seed_pages(shipped: Catalogue) -> None:
    assert {d.id for d in shipped.desks()} == {"o365", "vianet", "web", "zoom", "nl-vendor"}
    assert len(shipped) == 5
    assert "zoom" in shipped and "acme" not in shipped
    assert all(Path(d.source).parent == Path(str(shipped_policies())) for d in shipped.desks())


def test_an_unknown_desk_is_refused_listing_the_known_ones(shipped: Catalogue) -> None:
    with pytest.raises(ValidationError) as caught:
        shipped.desk("acme")
    assert (caught.value.field, caught.value.rule) == ("desk", "known_desk")
    assert "nl-vendor, o365, vianet, web, zoom" in caught.value.message


def test_a_user_directory_adds_a_desk(tmp_path: Path) -> None:
    write(tmp_path, BASE)
    (tmp_path / "notes.txt").write_text("not a policy")
    catalogue = load_catalogue(extra_dirs=[tmp_path])
    assert catalogue.desk("acme").name == "Acme support"
    assert "zoom" in catalogue and len(catalogue) == 6


def test_a_directory_replaces_the_shipped_desks(tmp_path: Path) -> None:
    write(tmp_path, BASE)
    assert [d.id for d in load_catalogue(tmp_path).desks()] == ["acme"]


def test_a_missing_policy_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="does not exist"):
        load_catalogue(extra_dirs=[tmp_path / "nowhere"])


def test_a_duplicate_desk_id_and_version_is_refused_naming_both_files(tmp_path: Path) -> None:
    first = write(tmp_path, BASE, "a.toml")
    second = write(tmp_path, BASE.replace('"ACM"', '"ACX"'), "b.toml")
    with pytest.raises(PolicyError) as caught:
        load_catalogue(tmp_path)
    assert (caught.value.file, caught.value.key) == (str(second), "desk.version")
    assert str(first) in caught.value.message and "version 1" in caught.value.message


def test_a_duplicate_ticket_prefix_is_refused(tmp_path: Path) -> None:
    write(tmp_path, BASE, "a.toml")
    second = write(tmp_path, BASE.replace('id = "acme"', 'id = "acme-2"'), "b.toml")
    with pytest.raises(PolicyError) as caught:
        load_catalogue(tmp_path)
    assert (caught.value.file, caught.value.key) == (str(second), "desk.ticket_prefix")


def test_a_shipped_desk_copied_into_a_user_directory_clashes(tmp_path: Path) -> None:
    shutil.copy(Path(str(shipped_policies())) / "vianet.toml", tmp_path / "mine.toml")
    with pytest.raises(PolicyError, match="desk id 'vianet' version 2 is already used"):
        load_catalogue(extra_dirs=[tmp_path])


# ---------------------------------------------------------------- the shipped policies


def test_every_desk_closes_after_five_working_days_of_silence(shipped: Catalogue) -> None:
    for desk in shipped.desks():
        inactivity = desk.inactivity
        assert (inactivity.warn_text, inactivity.close_text) == ("3 working days",
                                                                 "5 working days")
        assert inactivity.close_after == inactivity.calendar.working_days(5)
        assert desk.warning_threshold == 0.75


def test_o365_keeps_the_garbled_table_as_printed(shipped: Catalogue) -> None:
    o365 = shipped.desk("o365")
    assert target(o365, "enterprise", "B") == H  # as printed
    assert target(o365, "elevated", "B") == 2 * H
    assert target(o365, "elevated", "C") == 4 * H
    assert o365.plans["enterprise"].severities["C"].targets == {}
    assert all(t.calendar.always_open for p in o365.plans.values()
               for s in p.severities.values() for t in s.targets.values())
    assert o365.plans["enterprise"].who_may_open == {"admin"}


def test_vianet_working_days_are_fifteen_hours(shipped: Catalogue) -> None:
    vianet = shipped.desk("vianet")
    b = vianet.plans["standard"].severities["B"].targets[FIRST]
    assert (b.duration, b.text, b.calendar.name) == (15 * H, "1 working day", "beijing")
    assert target(vianet, "special-agreement", "C") == 45 * H
    assert target(vianet, "special-agreement", "A") == H
    assert vianet.plans["special-agreement"].severities["A"].targets[FIRST].calendar.always_open
    assert list(vianet.plans["standard"].severities) == ["B", "C"]
    assert vianet.calendars["beijing"].timezone == "Asia/Shanghai"


def test_vianet_billing_is_at_most_severity_b(shipped: Catalogue) -> None:
    vianet = shipped.desk("vianet")
    vianet.check_severity_allowed("special-agreement", "billing", "B")
    vianet.check_severity_allowed("special-agreement", "presales", "B")
    vianet.check_severity_allowed("special-agreement", "technical", "A")
    with pytest.raises(EntitlementError, match="presales tickets are at most severity B"):
        vianet.check_severity_allowed("special-agreement", "presales", "A")
    with pytest.raises(EntitlementError) as caught:
        vianet.check_severity_allowed("special-agreement", "billing", "A")
    assert caught.value.rule == "category_max_severity"


def test_a_plan_may_name_a_calendar_per_category_over_the_categorys_own(tmp_path: Path) -> None:
    text = BASE.replace('"90m", calendar = "office"', '"1 working day", calendar = "always"')
    text = text.replace('max_severity = "B"', 'max_severity = "B"\ncalendar = "always"')
    plain = load_desk(write(tmp_path, text))
    mine = load_desk(write(tmp_path, text.replace(
        WHO, WHO + '\ncategory_calendars = { billing = "office" }'), "mine.toml"))
    office = mine.calendars["office"]
    for desk, calendar, day in ((plain, "always", 24 * H), (mine, "office", office.working_days(1))):
        b = desk.targets("standard", "billing", "B", "admin")[FIRST]
        assert (b.calendar.name, b.duration, b.text) == (calendar, day, "1 working day")
        assert desk.targets("standard", "technical", "B", "admin")[FIRST].calendar.name == "always"
    assert office.working_days(1) != 24 * H


def test_vianet_measures_each_kind_of_case_on_its_own_calendar(shipped: Catalogue) -> None:
    vianet = shipped.desk("vianet")
    billing = vianet.targets("standard", "billing", "B", "admin")[FIRST]
    presales = vianet.targets("standard", "presales", "C", "admin")[FIRST]
    technical = vianet.targets("standard", "technical", "B", "admin")[FIRST]
    assert (billing.calendar.name, billing.duration, billing.text) == (
        "beijing-office", 9 * H, "1 working day")
    assert (presales.calendar.name, presales.duration) == ("local-office", 27 * H)
    assert (technical.calendar.name, technical.duration) == ("beijing", 15 * H)
    assert vianet.calendars["beijing-office"].holiday_country == "CN"
    assert vianet.targets("special-agreement", "technical", "A", "admin")[FIRST].calendar.always_open


def test_zoom_promises_targets_and_level_2_to_licensed_admins(shipped: Catalogue) -> None:
    zoom = shipped.desk("zoom")
    for name in ("premier", "premier-plus"):
        plan = zoom.plans[name]
        assert (plan.targets_for, dict(plan.starting_levels)) == ({"admin"}, {"admin": "level_2"})
        assert zoom.targets(name, "technical", "P1", "licensed_member") == {}
        assert set(zoom.targets(name, "technical", "P1", "admin")) == {FIRST, RESOLUTION}
    assert zoom.plans["access"].targets_for is None
    assert zoom.plans["access"].starting_level("admin", "front_line") == "front_line"


def test_vianet_severity_a_needs_the_special_agreement(shipped: Catalogue) -> None:
    vianet = shipped.desk("vianet")
    with pytest.raises(EntitlementError) as caught:
        vianet.check_severity_allowed("standard", "technical", "A")
    assert caught.value.rule == "severity_in_plan"
    vianet.check_severity_allowed(None, None, "C")  # the defaults: standard, technical


def test_web_desk_answers_within_four_office_hours(shipped: Catalogue) -> None:
    web = shipped.desk("web")
    first = web.plans["standard"].severities["normal"].targets[FIRST]
    assert (first.duration, first.calendar.holiday_country) == (4 * H, "BE")
    assert first.calendar.timezone == "Europe/Brussels"
    assert web.editors_per_site == 3
    assert web.plans["standard"].who_may_open == {"editor"}
    assert web.reopen_within is None


@pytest.mark.parametrize(("name", "good", "bad"), [
    ("site_id", "0421", "421"),
    ("title", "Search page returns an error", "   "),
    ("contact_name", "An Peeters", ""),
    ("contact_phone", "+32 2 123 45 67", "call me"),
    ("contact_email", "an.peeters@example.be", "an.peeters"),
    ("error_message", "500 Internal Server Error\nat /search", " \n "),
    ("url", "https://www.example.be/search?q=x", "www.example.be"),
])
def test_web_desk_required_fields(shipped: Catalogue, name: str, good: str, bad: str) -> None:
    pattern = shipped.desk("web").required_fields[name].pattern
    assert pattern is not None
    assert re.fullmatch(pattern, good)
    assert not re.fullmatch(pattern, bad)


def test_zoom_escalates_automatically_only_on_premier_plus(shipped: Catalogue) -> None:
    plans = shipped.desk("zoom").plans
    assert plans["premier-plus"].auto_escalation is True
    assert plans["premier"].auto_escalation is False
    assert plans["access"].auto_escalation is False
    assert plans["access"].who_may_open == {"admin", "licensed_member"}
    assert plans["premier"].who_may_open == {"licensed_member", "admin"}


def test_zoom_priority_response_on_premier_and_premier_plus(shipped: Catalogue) -> None:
    zoom = shipped.desk("zoom")
    for plan in ("premier", "premier-plus"):
        assert target(zoom, plan, "P1") == H
        assert target(zoom, plan, "P1", RESOLUTION) == 4 * H
        assert target(zoom, plan, "P2", RESOLUTION) == 8 * H
        assert target(zoom, plan, "P3") == target(zoom, plan, "P4") == 24 * H
        severities = zoom.plans[plan].severities
        assert severities["P1"].targets[RESOLUTION].calendar.always_open
        assert severities["P3"].targets[FIRST].calendar.name == "office"
        assert RESOLUTION not in severities["P3"].targets
    assert all(not s.targets for s in zoom.plans["access"].severities.values())


def test_nl_vendor_follows_dutch_office_hours(shipped: Catalogue) -> None:
    vendor = shipped.desk("nl-vendor")
    office = vendor.calendars["office"]
    assert (office.timezone, office.holiday_country) == ("Europe/Amsterdam", "NL")
    assert set(office.hours) == {0, 1, 2, 3, 4}
    assert target(vendor, "standard", "normal") == office.working_days(1) == 8 * H
    assert vendor.reopen_within == office.working_days(5)
    assert vendor.ticket_prefix == "NLV"
