"""Retention per desk: a requester's data is erased once every desk they used no longer needs it."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tickets.application.clock import VirtualClock
from tickets.application.desk import TicketDesk
from tickets.domain.actor import Actor
from tickets.domain.catalogue import Catalogue
from tickets.domain.personal import ERASED
from tickets.domain.retention import parse_retention
from tickets.privacy.keys import KeyTable
from tickets.privacy.retention import Closings, apply_retention, due_subjects

AGENT = Actor("agent", "a-1")
WEBFORM = Actor("service", "webform")


@pytest.mark.parametrize(("text", "closed", "ends"), [
    ("24 months", "2026-01-31T10:00:00", "2028-01-31T10:00:00"),
    ("1 month", "2026-01-31T10:00:00", "2026-02-28T10:00:00"),  # no 31 February: its last day
    ("1 year", "2028-02-29T10:00:00", "2029-02-28T10:00:00"),
    ("30 days", "2026-12-15T10:00:00", "2027-01-14T10:00:00"),
])
def test_retention_counts_calendar_time_from_the_close(text: str, closed: str, ends: str) -> None:
    at = datetime.fromisoformat(closed).replace(tzinfo=UTC)
    assert parse_retention(text).ends(at) == datetime.fromisoformat(ends).replace(tzinfo=UTC)


@pytest.mark.parametrize("text", ["24", "two months", "5 working days", "0 days", "-1 years",
                                  "12 weeks", "99999 days"])
def test_a_retention_that_is_no_count_of_days_months_or_years_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="days, months or years"):
        parse_retention(text)


def test_the_seed_desks_choose_a_retention_and_superseded_versions_still_load(
        catalogue: Catalogue) -> None:
    chosen = {desk_id: catalogue.desk(desk_id).retention for desk_id in
              ("o365", "web", "zoom", "vianet", "nl-vendor")}
    assert all(r is not None for r in chosen.values())
    assert catalogue.desk("nl-vendor", 1).retention is None  # written before retention existed


def test_retention_erases_after_the_period_and_only_when_every_ticket_is_past_it(
        catalogue: Catalogue, clock: VirtualClock, tmp_path: Path) -> None:
    keys = KeyTable(tmp_path / "keys.sqlite3")
    desk = TicketDesk(catalogue, clock=clock, rng=random.Random(5), keys=keys, env={
        "PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "e.db")})

    def opened(requester: str) -> str:
        return desk.open(desk="o365", requester=requester, requester_role="admin", title="T",
                         fields={"contact_email": f"{requester}@example.org"}, severity="A",
                         actor=WEBFORM).number

    anna, bob_closed, bob_open = opened("c-anna"), opened("c-bob"), opened("c-bob")
    clock.advance(timedelta(hours=1))
    desk.close_ticket(anna, "resolved", actor=AGENT)
    desk.close_ticket(bob_closed, "resolved", actor=AGENT)
    closed_at = clock.now()
    assert apply_retention(desk, keys, closed_at + timedelta(days=364)) == []  # o365 keeps 12 months
    done = apply_retention(desk, keys, closed_at + timedelta(days=366))
    assert [(d.requester, d.asked_by) for d in done] == [("c-anna", "system:retention")]
    assert "o365 keeps 12 months" in done[0].basis
    assert keys.open("contact_email", desk.get(anna).fields["contact_email"]) == ERASED
    assert keys.open("contact_email", desk.get(bob_open).fields["contact_email"]) == \
        "c-bob@example.org"  # one ticket of bob's is still open
    assert apply_retention(desk, keys, closed_at + timedelta(days=400)) == []  # done once


def test_a_kept_round_loads_only_the_tickets_that_moved_and_agrees_with_a_whole_read(
        catalogue: Catalogue, clock: VirtualClock, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    keys = KeyTable(tmp_path / "keys.sqlite3")
    desk = TicketDesk(catalogue, clock=clock, rng=random.Random(6), keys=keys, env={
        "PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "e.db")})
    numbers = [desk.open(desk="nl-vendor", requester=f"c-{i}", requester_role="user", title="T",
                         fields={"contact_email": f"c-{i}@example.org"}, severity="normal",
                         actor=WEBFORM).number for i in range(5)]
    closings = Closings(desk)
    loaded: list[object] = []
    real_get = desk.get
    monkeypatch.setattr(desk, "get", lambda ref: loaded.append(ref) or real_get(ref))

    def kept_round(now: datetime) -> tuple[set[str], set[object]]:
        """The subjects due, and the tickets the kept round loaded."""
        loaded.clear()
        due = due_subjects(desk, keys, now, closings)
        moved = set(loaded)
        assert due == due_subjects(desk, keys, now)  # as a round reading the whole log finds
        return set(due), moved

    clock.advance(timedelta(hours=1))
    for number in numbers[:3]:
        desk.close_ticket(number, "resolved", actor=AGENT)
    later = clock.now() + timedelta(days=800)  # nl-vendor keeps 24 months, and may reopen
    first = kept_round(later)
    assert first == ({"c-0", "c-1", "c-2"}, {desk.ticket_id(n) for n in numbers})
    assert kept_round(later) == ({"c-0", "c-1", "c-2"}, set())  # nothing moved: nothing loaded
    desk.reopen(numbers[0], "still broken", actor=AGENT)
    desk.close_ticket(numbers[3], "resolved", actor=AGENT)
    assert kept_round(later) == ({"c-1", "c-2", "c-3"},
                                 {desk.ticket_id(numbers[0]), desk.ticket_id(numbers[3])})
