"""Every rule the seed pages state, expressed: each test quotes the sentence it holds the engine to.

The scheduler's side of automatic escalation is in ``test_scheduler.py``; the refusals of bad
policy files in ``test_catalogue.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from uuid import uuid4

import holidays
import pytest

from tests.unit.conftest import AGENT, CUSTOMER, SERVICE, at
from tests.unit.projection_support import feed_into, read_store
from tickets.application.desk import TicketDesk
from tickets.application.policy_files import load_catalogue
from tickets.domain.calendar import BusinessCalendar
from tickets.domain.calendar_days import clear_caches, library_holidays
from tickets.domain.catalogue import Catalogue
from tickets.domain.errors import EntitlementError
from tickets.domain.facts import TicketFacts
from tickets.domain.policy import Desk
from tickets.domain.sla import compute
from tickets.projections import facts_memo
from tickets.projections.facts_state import dump_facts, load_facts
from tickets.projections.sla_timers import SlaTimersProjection
from tickets.replay.what_if import what_if


def open_ticket(desk: TicketDesk, name: str, plan: str, severity: str, when: str, *,
                role: str = "admin", category: str | None = None) -> str:
    return desk.open(desk=name, plan=plan, category=category, severity=severity,
                     requester=CUSTOMER.id, requester_role=role, title="T", actor=SERVICE,
                     at=at(when)).number


# ---- Zoom: targets and the starting level by who asks -------------------------------------


@pytest.mark.parametrize("plan", ["premier", "premier-plus"])
def test_a_licensed_admin_gets_priority_targets_and_goes_direct_to_level_2(
    desk: TicketDesk, plan: str
) -> None:
    """Zoom: "Prioritaire respons voor beheerders met een licentie op accounts met Premier of
    Premier+" and "Direct niveau 2 (chat, ticket en telefoon): Beheerders met licentie"."""
    n = open_ticket(desk, "zoom", plan, "P1", "2026-11-16T09:00:00+01:00")
    report = desk.sla(n, now=at("2026-11-16T09:00:00+01:00"))
    assert {c.kind: c.due for c in report.clocks} == {
        "first_response": at("2026-11-16T10:00:00+01:00"),   # "P1 | 1 uur | 4 uur"
        "resolution": at("2026-11-16T13:00:00+01:00"),
    }
    assert desk.get(n).level == desk.facts(n).level == "level_2"


@pytest.mark.parametrize("plan", ["premier", "premier-plus"])
def test_a_licensed_member_on_the_same_plan_is_served_at_the_front_line_without_targets(
    desk: TicketDesk, plan: str
) -> None:
    """Zoom: "Frontlijn niveau 1 (chat, ticket): Leden met licentie"; the priority response is
    "voor beheerders met een licentie": a member is promised no first response or restore time."""
    n = open_ticket(desk, "zoom", plan, "P1", "2026-11-16T09:00:00+01:00", role="licensed_member")
    assert desk.sla(n, now=at("2026-11-17T09:00:00+01:00")).clocks == ()
    assert desk.get(n).level == desk.facts(n).level == "front_line"


def test_access_has_no_priority_response_and_no_direct_level_2(desk: TicketDesk) -> None:
    """Zoom: "Antwoord met prioriteit" and "Direct niveau 2" are included on Premier and Premier+
    only; Access: "Frontlijn niveau 1 (chat, ticket): Beheerders en leden met licentie"."""
    for role in ("admin", "licensed_member"):
        n = open_ticket(desk, "zoom", "access", "P1", "2026-11-16T09:00:00+01:00", role=role)
        assert desk.sla(n).clocks == ()
        assert desk.get(n).level == "front_line"


def test_facts_stored_before_roles_were_kept_keep_their_targets(catalogue: Catalogue) -> None:
    """A read model's facts written by the previous version carry no role: the ticket keeps the
    targets it had until the projections are rebuilt from the events, which carry the role."""
    zoom = catalogue.desk("zoom")
    opened = at("2026-11-16T09:00:00+01:00")
    old = TicketFacts(
        ticket_id=uuid4(), number="ZOOM-0AAAAA", desk="zoom", policy_version=1,
        plan="premier", category="technical", severity="P1", status="new", level="front_line",
        opened_at=opened, version=1, last_occurred_at=opened)
    text = dump_facts(old).replace(',"requester_role":null', "")
    assert "requester_role" not in text
    assert load_facts(text).requester_role is None
    assert {c.kind for c in compute(load_facts(text), zoom, opened).clocks} == {
        "first_response", "resolution"}


# ---- 21Vianet: a calendar per kind of case; severity A for product support only -----------


def test_a_billing_ticket_opened_friday_evening_does_not_count_the_weekend(desk: TicketDesk) -> None:
    """21Vianet: "A számlázás és előfizetések kezeléséhez tartozó támogatás interneten vagy
    telefonon keresztül érhető el kínai (pekingi) munkaidő szerint, hétfőtől péntekig."
    Product support: "Súlyosság B/C: 9:00 ~ 24:00 (pekingi idő) naponta, az év minden napján."."""
    friday_evening = "2026-11-13T19:00:00+08:00"
    billing = open_ticket(desk, "vianet", "standard", "B", friday_evening, category="billing")
    technical = open_ticket(desk, "vianet", "standard", "B", friday_evening, category="technical")
    saturday = at("2026-11-14T19:00:00+08:00")
    billed = desk.sla(billing, now=saturday, explain=True).clock("first_response")
    product = desk.sla(technical, now=saturday).clock("first_response")
    assert billed is not None and product is not None
    # 1 working day on Beijing office hours (09:00-18:00): all of Monday's 9 hours.
    assert (billed.calendar, billed.target_text, billed.due) == (
        "beijing-office", "1 working day", at("2026-11-16T18:00:00+08:00"))
    assert billed.used.total_seconds() == 0
    assert {i.reason for i in billed.timeline if not i.counted} == {"outside hours", "weekend"}
    # The same words on the every-day 09:00-24:00 calendar: 5 h on Friday, 10 h on Saturday.
    assert (product.calendar, product.due) == ("beijing", at("2026-11-14T19:00:00+08:00"))


def test_a_billing_ticket_waits_out_chinas_national_day_holidays(desk: TicketDesk) -> None:
    """21Vianet billing and subscription support: "kínai (pekingi) munkaidő szerint, hétfőtől
    péntekig" — China's public holidays are not working days."""
    n = open_ticket(desk, "vianet", "standard", "B", "2026-09-30T17:00:00+08:00",
                    category="billing")
    clock = desk.sla(n, now=at("2026-10-08T09:00:00+08:00"), explain=True).clock("first_response")
    assert clock is not None
    # Wed 30 Sep 17:00-18:00 (1 h); 1-7 Oct closed (National Day, days off, a weekend); 8 h on 8 Oct.
    assert clock.due == at("2026-10-08T17:00:00+08:00")
    reasons = {i.reason for i in clock.timeline if not i.counted}
    assert "holiday: National Day" in reasons and "weekend" in reasons


def test_a_presales_ticket_runs_on_local_working_hours_monday_to_friday(desk: TicketDesk) -> None:
    """21Vianet pre-sales: "Az ügyfélszolgálatot a helyi munkaidő szerint, hétfőtől péntekig
    érheti el.\""""
    n = open_ticket(desk, "vianet", "standard", "C", "2026-11-13T19:00:00+08:00",
                    category="presales")
    clock = desk.sla(n).clock("first_response")
    assert clock is not None
    # 3 working days of 9 hours from Monday 09:00: Wednesday 18:00.
    assert (clock.calendar, clock.due) == ("local-office", at("2026-11-18T18:00:00+08:00"))


def test_a_presales_ticket_at_severity_a_is_refused_with_the_categorys_rule(
    desk: TicketDesk
) -> None:
    """21Vianet: "Az A súlyossági szint csak terméktámogatási esetekben érhető el." (Severity A is
    available in product support cases only.)"""
    base = dict(desk="vianet", plan="special-agreement", requester="c-9", requester_role="admin",
                title="Licences for 500 seats", actor=SERVICE, at=at("2026-11-16T10:00:00+08:00"))
    for category in ("presales", "billing"):
        with pytest.raises(EntitlementError) as caught:
            desk.open(**base, category=category, severity="A")  # type: ignore[arg-type]
        assert (caught.value.field, caught.value.rule) == ("severity", "category_max_severity")
        assert f"{category} tickets are at most severity B, not A" in caught.value.message
    n = desk.open(**base, category="presales", severity="B").number  # type: ignore[arg-type]
    with pytest.raises(EntitlementError) as caught:
        desk.set_severity(n, "A", "reclassified", actor=AGENT, at=at("2026-11-16T10:05:00+08:00"))
    assert caught.value.rule == "category_max_severity"
    assert desk.open(**base, category="technical", severity="A").number.startswith("VIA-")  # type: ignore[arg-type]


# ---- Holidays that cannot shift under history ---------------------------------------------


@pytest.mark.parametrize(("desk_id", "calendar"), [("nl-vendor", "office"), ("zoom", "office")])
def test_good_friday_is_a_working_day_on_the_dutch_desks(
    catalogue: Catalogue, desk_id: str, calendar: str
) -> None:
    """nl-vendor: "... dat we op dagen als 2e Paasdag, 2e Pinksterdag, 2e Kerstdag, Koningsdag 30
    april, Nieuwjaarsdag niet geopend zijn" — Good Friday is not named, nor a general holiday in
    Dutch law (Algemene termijnenwet); both desks' files say why they are open on it."""
    office = catalogue.desk(desk_id).calendars[calendar]
    for year, good_friday, easter_monday in ((2026, date(2026, 4, 3), date(2026, 4, 6)),
                                             (2031, date(2031, 4, 11), date(2031, 4, 14))):
        assert office.holiday_name(good_friday) is None, year  # pinned (2026) and not (2031)
        assert office.holiday_name(easter_monday) == "Easter Monday"
        assert office.is_open(datetime.fromisoformat(f"{good_friday}T10:00:00+02:00"))


def every_shipped_version() -> Iterator[Desk]:
    """The current desks and their superseded versions: each resolves to its own dates forever."""
    catalogue = load_catalogue()
    for current in catalogue.desks():
        yield from catalogue.versions(current.id)


def shipped_pins() -> Iterator[tuple[str, BusinessCalendar]]:
    for desk in every_shipped_version():
        for cal in desk.calendars.values():
            if cal.pinned_years:
                yield f"{desk.id} v{desk.version} calendars.{cal.name}", cal


@pytest.mark.parametrize(("where", "cal"), list(shipped_pins()), ids=lambda v: str(v)[:40])
def test_pinned_holiday_dates_are_what_the_holidays_library_said_when_they_were_pinned(
    where: str, cal: BusinessCalendar
) -> None:
    """Should a ``holidays`` release move a pinned date, this fails and shows the new dates: the
    pinned version keeps its dates; adopting the new ones means a new desk version."""
    assert cal.holiday_country is not None
    for year in sorted(cal.pinned_years):
        now = library_holidays(cal.holiday_country, cal.holiday_subdivision, year,
                               cal.holiday_exceptions)
        pinned = {d: n for d, n in cal.pinned_holidays.items() if d.year == year}
        lines = "\n".join(f'{d.isoformat()} = "{n}"' for d, n in sorted(now.items()))
        assert pinned == now, f"{where}: the library now says for {year}:\n{lines}"


def test_every_shipped_calendar_with_a_country_pins_2024_to_2027() -> None:
    """Superseded versions too: a ticket opened under one is replayed on the dates it ran with."""
    versions = list(every_shipped_version())
    assert {(d.id, d.version) for d in versions} >= {("nl-vendor", 1), ("zoom", 1), ("web", 1)}
    for desk in versions:
        for cal in desk.calendars.values():
            if cal.holiday_country is not None:
                assert cal.pinned_years == {2024, 2025, 2026, 2027}, (desk.id, desk.version, cal.name)


@pytest.fixture
def changed_library(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The ``holidays`` library as a later release might have it: Easter Monday 2026 gone from
    the Dutch list, Wednesday 8 April 2026 a new holiday."""
    real = holidays.country_holidays

    def changed(country: str, *args: object, **kwargs: object) -> holidays.HolidayBase:
        found = real(country, *args, **kwargs)  # type: ignore[arg-type]
        if country == "NL" and 2026 in found.years:
            found.pop(date(2026, 4, 6), None)
            found[date(2026, 4, 8)] = "Invented Day"
        return found

    clear_caches()
    facts_memo.clear()  # nothing computed before the change may be handed out after it
    monkeypatch.setattr(holidays, "country_holidays", changed)
    yield
    monkeypatch.undo()
    clear_caches()


def easter_week(desk: TicketDesk) -> list[str]:
    """nl-vendor tickets across Easter 2026, answered and asked at a few times."""
    numbers = []
    for day, hour in (("01", 14), ("02", 16), ("03", 11), ("07", 9)):
        n = open_ticket(desk, "nl-vendor", "standard", "normal", f"2026-04-{day}T{hour:02d}:00:00+02:00",
                        role="user")
        numbers.append(n)
    desk.respond(numbers[0], actor=AGENT, at=at("2026-04-07T10:00:00+02:00"))
    desk.request_info(numbers[1], actor=AGENT, at=at("2026-04-02T16:30:00+02:00"))
    return numbers


def figures(desk: TicketDesk, numbers: list[str], until: datetime) -> list[tuple[object, ...]]:
    return [(n, c.kind, c.state.value, c.due, c.used) for n in numbers
            for c in desk.sla(n, now=until).clocks]


def test_a_replay_of_2026_gives_the_figures_it_gave_even_when_the_library_now_differs(
    desk: TicketDesk, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A policy version resolves to the same holiday dates forever: the clocks, a rebuilt SLA
    timers table and ``replay what-if`` give the 2026 figures the tickets ran under."""
    numbers = easter_week(desk)
    until = at("2026-04-20T00:00:00+02:00")
    before = figures(desk, numbers, until)
    live = read_store(tmp_path, "live")
    feed_into(desk, live, SlaTimersProjection(desk.catalogue))
    shipped = resources.files("domain").joinpath("policies", "nl-vendor.toml")
    unpinned = tmp_path / "nl-vendor-unpinned.toml"
    text = shipped.read_text("utf-8")
    unpinned.write_text(text[:text.index("[calendars.office.holiday_dates.")], encoding="utf-8")

    request.getfixturevalue("changed_library")
    assert figures(desk, numbers, until) == before
    rebuilt = read_store(tmp_path, "rebuilt")
    feed_into(desk, rebuilt, SlaTimersProjection(desk.catalogue))
    dump = "SELECT * FROM sla_timers ORDER BY ticket_id, kind"
    assert rebuilt.read(dump) == live.read(dump)
    same = what_if(desk, str(shipped), at("2026-04-01T00:00:00+02:00"), until)
    assert same.totals()["outcomes_changed"] == 0 and same.totals()["tickets"] == 4
    # The control: without pinned dates the changed library does move the figures.
    moved = what_if(desk, unpinned, at("2026-04-01T00:00:00+02:00"), until)
    assert moved.totals()["outcomes_changed"] > 0
