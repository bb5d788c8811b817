"""A ticket keeps the policy version it was opened under, after the desk's file moves on.

nl-vendor version 1 closed on Good Friday (the ``holidays`` package lists it); version 2 opens on
it. A ticket opened under version 1 on Thursday 2 April 2026 keeps Good Friday (3 April) closed in
the domain's clocks, the ticket view, the live projections, the scheduler's actions, a rebuild and
``replay what-if``; a ticket opened under version 2 at the same moment counts it as a working day.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path

import pytest

from tests.unit.conftest import AGENT, SERVICE, at
from tests.unit.replay_week import project
from tests.unit.test_seed_rules import changed_library  # noqa: F401 (a fixture)
from tickets.application.clock import VirtualClock
from tickets.application.desk import TicketDesk
from tickets.config import persistence_env
from tickets.consumers.scheduler_timers import SchedulerTimersProjection
from tickets.domain.catalogue import Catalogue
from tickets.domain.errors import ValidationError
from tickets.http.ticket_detail import ticket_detail
from tickets.projections.readstore import ReadStore
from tickets.projections.sla_timers import timers_of
from tickets.projections_registry import all_projections
from tickets.replay.as_of import as_of
from tickets.replay.compare import compare
from tickets.replay.rebuild import rebuild
from tickets.replay.what_if import what_if

OPENED = "2026-04-02T16:00:00+02:00"  # the Thursday before Good Friday
ASKED_OPENED = "2026-04-02T15:00:00+02:00"
# "1 working day" is 8 office hours (Mon-Fri 09:00-17:00 Amsterdam); from Thursday 16:00, 1 hour
# that day, then version 1 waits out Good Friday, the weekend and Easter Monday, version 2 only
# the weekend and Easter Monday.
DUE_V1, DUE_V2 = at("2026-04-07T16:00:00+02:00"), at("2026-04-03T16:00:00+02:00")
# Information asked Thursday 16:00; the warning comes after 3 working days (24 office hours):
# version 1: 1 h Thursday, Tuesday, Wednesday, 7 h Thursday 9 April; version 2: 1 h Thursday,
# Good Friday, Tuesday, 7 h Wednesday 8 April.
WARN_V1, WARN_V2 = at("2026-04-09T16:00:00+02:00"), at("2026-04-08T16:00:00+02:00")
UNTIL = at("2026-04-20T00:00:00+02:00")
SINCE = at("2026-04-01T00:00:00+02:00")


@dataclass
class Upgrade:
    """One event store: tickets opened by the engine that knew version 1, then by the upgraded one."""

    engine: TicketDesk  # the upgraded engine: version 2 current, version 1 superseded
    events: Path
    clock: VirtualClock
    old: str  # opened under version 1 (first response running)
    new: str  # opened under version 2 at the same moment
    old_waiting: str  # opened under version 1, information asked
    new_waiting: str


def engine(events: Path, catalogue: Catalogue, clock: VirtualClock, seed: int) -> TicketDesk:
    return TicketDesk(catalogue, clock=clock, env=persistence_env(f"sqlite:///{events}"),
                      rng=random.Random(seed))


def open_pair(desk: TicketDesk) -> tuple[str, str]:
    running = desk.open(desk="nl-vendor", requester="c-1", requester_role="user", title="Export",
                        severity="normal", actor=SERVICE, at=at(OPENED)).number
    waiting = desk.open(desk="nl-vendor", requester="c-1", requester_role="user", title="Import",
                        severity="normal", actor=SERVICE, at=at(ASKED_OPENED)).number
    desk.request_info(waiting, actor=AGENT, at=at(OPENED))
    return running, waiting


@pytest.fixture
def upgrade(tmp_path: Path, catalogue: Catalogue) -> Upgrade:
    events, clock = tmp_path / "events.sqlite3", VirtualClock(at(OPENED))
    before = engine(events, Catalogue([catalogue.desk("nl-vendor", 1)]), clock, seed=1)
    old, old_waiting = open_pair(before)
    assert before.get(old).policy_version == 1
    after = engine(events, catalogue, clock, seed=2)
    new, new_waiting = open_pair(after)
    assert after.get(new).policy_version == 2
    clock.set(UNTIL)
    return Upgrade(after, events, clock, old, new, old_waiting, new_waiting)


def first_response(desk: TicketDesk, number: str) -> tuple[datetime | None, int, set[str]]:
    clock = desk.sla(number, now=UNTIL, explain=True).clock("first_response")
    assert clock is not None
    closed = {i.reason for i in clock.timeline if not i.counted}
    return clock.due, clock.policy_version, closed


def test_a_ticket_opened_under_version_1_keeps_good_friday_closed(upgrade: Upgrade) -> None:
    due, version, closed = first_response(upgrade.engine, upgrade.old)
    assert (due, version) == (DUE_V1, 1)
    assert "holiday: Good Friday" in closed


def test_a_ticket_opened_under_version_2_counts_good_friday_as_a_working_day(
    upgrade: Upgrade,
) -> None:
    due, version, closed = first_response(upgrade.engine, upgrade.new)
    assert (due, version) == (DUE_V2, 2)
    assert "holiday: Good Friday" not in closed


def test_the_ticket_view_names_the_version_the_ticket_runs_under(upgrade: Upgrade) -> None:
    for number, version, due in ((upgrade.old, 1, DUE_V1), (upgrade.new, 2, DUE_V2)):
        shown = ticket_detail(upgrade.engine, number, UNTIL, show_personal=False)
        assert shown["policy"]["version"] == version
        [clock] = [c for c in shown["sla"] if c["kind"] == "first_response"]
        assert (clock["due"], clock["policy_version"]) == (due.isoformat().replace("+00:00", "Z"),
                                                           version)


def test_the_ticket_as_of_a_moment_is_computed_under_its_own_version(upgrade: Upgrade) -> None:
    for number, version, due in ((upgrade.old, 1, DUE_V1), (upgrade.new, 2, DUE_V2)):
        clock = as_of(upgrade.engine, number, at=UNTIL).report.clock("first_response")
        assert clock is not None and (clock.due, clock.policy_version) == (due, version)


def test_the_auto_close_warning_of_each_ticket_follows_its_own_version(upgrade: Upgrade) -> None:
    for number, warn in ((upgrade.old_waiting, WARN_V1), (upgrade.new_waiting, WARN_V2)):
        ticket = upgrade.engine.get(number)
        policy = upgrade.engine.catalogue.desk(ticket.desk, ticket.policy_version)
        due = ticket.auto_close_due(policy)
        assert due is not None and due[0] == warn, number


def live_projections(upgrade: Upgrade, tmp_path: Path) -> ReadStore:
    store = ReadStore(f"sqlite:///{tmp_path / 'live.sqlite3'}")
    catalogue = upgrade.engine.catalogue
    project(upgrade.engine, store, [*all_projections(catalogue),
                                    SchedulerTimersProjection(catalogue, lambda _: 0)], batch_size=3)
    assert store.read("SELECT COUNT(*) FROM set_aside")[0][0] == 0
    return store


def projected_dues(store: ReadStore, upgrade: Upgrade) -> dict[str, tuple[str, int]]:
    found = {}
    for number in (upgrade.old, upgrade.new):
        [timer] = [t for t in timers_of(store, upgrade.engine.ticket_id(number))
                   if t.kind == "first_response"]
        found[number] = (timer.due, timer.policy_version)
    return found


def test_the_live_projections_compute_each_ticket_under_its_own_version(
    upgrade: Upgrade, tmp_path: Path
) -> None:
    store = live_projections(upgrade, tmp_path)
    assert {n: (due, v) for n, (due, v) in projected_dues(store, upgrade).items()} == {
        upgrade.old: (DUE_V1, 1), upgrade.new: (DUE_V2, 2)}
    breach = dict(store.read("SELECT ticket_id, breach_at FROM dashboard_tickets"))
    old_id, new_id = (str(upgrade.engine.ticket_id(n)) for n in (upgrade.old, upgrade.new))
    assert [datetime.fromisoformat(breach[t]) for t in (old_id, new_id)] == [DUE_V1, DUE_V2]
    queued = dict(store.read("SELECT number, due FROM escalation_queue WHERE kind = 'first_response'"))
    assert [datetime.fromisoformat(queued[n]) for n in (upgrade.old, upgrade.new)] == [DUE_V1, DUE_V2]
    warnings = dict(store.read(
        "SELECT number, due_at FROM scheduler_actions WHERE action = 'warn_auto_close'"))
    assert datetime.fromisoformat(warnings[upgrade.old_waiting]) == WARN_V1
    assert datetime.fromisoformat(warnings[upgrade.new_waiting]) == WARN_V2


def test_a_rebuild_gives_the_figures_the_live_projections_gave(
    upgrade: Upgrade, tmp_path: Path
) -> None:
    live = live_projections(upgrade, tmp_path)
    projections = all_projections(upgrade.engine.catalogue)
    target = f"sqlite:///{tmp_path / 'rebuilt.sqlite3'}"
    assert rebuild(upgrade.engine, projections, target, progress=False).complete
    rebuilt = ReadStore(target)
    assert [d for d in compare(live, rebuilt, projections) if not d.same] == []
    assert projected_dues(rebuilt, upgrade)[upgrade.old] == (DUE_V1, 1)


def test_what_if_compares_each_ticket_against_its_own_version(upgrade: Upgrade) -> None:
    current = resources.files("domain").joinpath("policies", "nl-vendor.toml")
    result = what_if(upgrade.engine, str(current), SINCE, UNTIL)
    changed = {t.number: t.changed for t in result.tickets}
    assert changed[upgrade.new] == [] and changed[upgrade.new_waiting] == []
    [moved] = [o for o in changed[upgrade.old] if o.kind == "first_response"]
    assert (moved.before.due, moved.before.policy_version) == (DUE_V1, 1)
    assert (moved.after.due, moved.after.policy_version) == (DUE_V2, 2)

    superseded = resources.files("domain").joinpath("policies", "superseded", "nl-vendor-v1.toml")
    back = {t.number: t.changed for t in what_if(upgrade.engine, str(superseded), SINCE, UNTIL).tickets}
    assert back[upgrade.old] == [] and back[upgrade.old_waiting] == []
    [moved] = [o for o in back[upgrade.new] if o.kind == "first_response"]
    assert (moved.before.due, moved.after.due) == (DUE_V2, DUE_V1)


def test_a_ticket_whose_version_the_catalogue_lacks_is_refused_naming_the_version(
    upgrade: Upgrade, catalogue: Catalogue
) -> None:
    """The engine never silently computes an old ticket under another version's rules."""
    current_only = engine(upgrade.events, Catalogue(catalogue.desks()), upgrade.clock, seed=3)
    for attempt in (lambda: current_only.sla(upgrade.old),
                    lambda: current_only.respond(upgrade.old, actor=AGENT)):
        with pytest.raises(ValidationError) as caught:
            attempt()
        assert (caught.value.field, caught.value.rule) == ("policy_version", "known_policy_version")
        assert "nl-vendor has no policy version 1" in caught.value.message
    assert current_only.sla(upgrade.new).clock("first_response") is not None


def test_version_1_keeps_its_dates_when_the_holidays_library_changes(
    upgrade: Upgrade, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Version 1 pins the dates the package gave it (Good Friday included), so a later ``holidays``
    release (here: Easter Monday 2026 gone, 8 April a new holiday) moves none of its figures."""
    before = first_response(upgrade.engine, upgrade.old)
    superseded = resources.files("domain").joinpath("policies", "superseded", "nl-vendor-v1.toml")
    text = superseded.read_text("utf-8")
    unpinned = tmp_path / "nl-vendor-v1-unpinned.toml"
    unpinned.write_text(text[:text.index("[calendars.office.holiday_dates.")], encoding="utf-8")

    request.getfixturevalue("changed_library")
    assert first_response(upgrade.engine, upgrade.old) == before
    # The control: the same version without its pinned dates would have moved, to Easter Monday
    # (1 hour on Thursday, Good Friday still closed, 7 hours on Monday 6 April).
    moved = {t.number: t.changed for t in what_if(upgrade.engine, unpinned, SINCE, UNTIL).tickets}
    assert [o.after.due for o in moved[upgrade.old] if o.kind == "first_response"] == [
        at("2026-04-06T16:00:00+02:00")]
