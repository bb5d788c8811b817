"""A rebuilt read model may replace the live one only if its audit trail keeps the recorded history."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from tests.unit.replay_week import AGENT, WEEK_END, ProjectedWeek, project, projected_week
from tickets.application.desk import TicketDesk
from tickets.domain.catalogue import Catalogue
from tickets.domain.errors import ValidationError
from tickets.projections.readstore import ReadStore
from tickets.projections_registry import all_projections
from tickets.replay.history_guard import check_history, guard_swap
from tickets.replay.integrity import verify
from tickets.replay.rebuild import rebuild
from tickets.replay.swap import swap

Week = ProjectedWeek


@pytest.fixture
def week(tmp_path: Path, catalogue: Catalogue) -> Iterator[Week]:
    with projected_week(tmp_path, catalogue) as projected:
        yield projected


def rebuilt(desk: TicketDesk, tmp_path: Path, name: str = "rebuilt") -> str:
    url = f"sqlite:///{tmp_path / f'{name}.sqlite3'}"
    assert rebuild(desk, all_projections(desk.catalogue), url, parts=1, progress=False).complete
    return url


def stored_state(path: Path, hex_id: str, version: int) -> bytes:
    with sqlite3.connect(path) as conn:
        (state,) = conn.execute("SELECT state FROM stored_events WHERE originator_id = ? "
                                "AND originator_version = ?", (hex_id, version)).fetchone()
    return bytes(state)


def store_state(path: Path, hex_id: str, version: int, state: bytes) -> None:
    """Change the event store behind the engine's back."""
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE stored_events SET state = ? WHERE originator_id = ? "
                     "AND originator_version = ?", (state, hex_id, version))


def altered(state: bytes) -> bytes:
    fields = json.loads(state)
    fields["actor"] = "agent:someone-else"
    return json.dumps(fields).encode()


def long_ticket(desk: TicketDesk, numbers: list[str]) -> str:
    return max(numbers, key=lambda n: len(desk.history(n)))


def test_a_rebuild_of_an_untouched_store_keeps_every_recorded_event(week: Week, tmp_path: Path) -> None:
    desk, live, numbers, _ = week
    check = check_history(live, ReadStore(rebuilt(desk, tmp_path)))
    assert check.kept
    assert check.compared == sum(len(desk.history(n)) for n in numbers)
    assert (check.removed, check.rewritten, check.added) == (0, 0, 0)


def test_an_event_altered_after_it_was_recorded_shows_as_history_rewritten(
    week: Week, tmp_path: Path
) -> None:
    desk, live, numbers, path = week
    n = long_ticket(desk, numbers)
    hex_id, versions = desk.ticket_id(n).hex, len(desk.history(n))
    store_state(path, hex_id, 2, altered(stored_state(path, hex_id, 2)))
    check = check_history(live, ReadStore(rebuilt(desk, tmp_path)))
    assert not check.kept
    # The altered event and every later one of the ticket: each hash covers the one before.
    assert check.rewritten == versions - 1 and check.removed == 0
    assert check.examples["rewritten"][0] == (str(desk.ticket_id(n)), 2)
    with pytest.raises(ValidationError) as refused:
        guard_swap(live.url, f"sqlite:///{tmp_path / 'rebuilt.sqlite3'}")
    assert (refused.value.field, refused.value.rule) == ("swap", "audit_history_kept")
    assert f"{desk.ticket_id(n)} v2" in str(refused.value)
    with capture_logs() as logs:
        accepted = guard_swap(live.url, f"sqlite:///{tmp_path / 'rebuilt.sqlite3'}",
                              accept_changed_history=True)
    assert accepted.rewritten == versions - 1
    assert [(e["event"], e["rewritten"]) for e in logs] == [("audit_history_replaced", versions - 1)]


def test_a_deleted_event_shows_as_history_removed(week: Week, tmp_path: Path) -> None:
    desk, live, numbers, path = week
    n = long_ticket(desk, numbers)
    last = len(desk.history(n))
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM stored_events WHERE originator_id = ? AND originator_version = ?",
                     (desk.ticket_id(n).hex, last))
    check = check_history(live, ReadStore(rebuilt(desk, tmp_path)))
    assert (check.removed, check.rewritten) == (1, 0)
    assert check.examples["removed"] == [(str(desk.ticket_id(n)), last)]


def still_open(desk: TicketDesk, numbers: list[str]) -> str:
    """A ticket that takes more events, with at least three already."""
    return next(n for n in numbers if desk.facts(n).status != "closed" and len(desk.history(n)) >= 3)


def respond_later(desk: TicketDesk, n: str) -> None:
    desk.respond(n, actor=AGENT, channel="email", at=WEEK_END)


def test_events_newer_than_the_rebuild_do_not_count_as_removed(week: Week, tmp_path: Path) -> None:
    desk, live, numbers, _ = week
    url = rebuilt(desk, tmp_path)
    respond_later(desk, still_open(desk, numbers))
    project(desk, live)
    check = check_history(live, ReadStore(url))
    assert check.kept and check.removed == 0


def test_a_broken_chain_is_repaired_by_restoring_the_store_then_rebuilding_and_swapping(
    week: Week, tmp_path: Path
) -> None:
    desk, live, numbers, path = week
    n = still_open(desk, numbers)
    hex_id, versions = desk.ticket_id(n).hex, len(desk.history(n))
    original = stored_state(path, hex_id, 2)
    store_state(path, hex_id, 2, altered(original))
    respond_later(desk, n)
    project(desk, live)
    # The live trail set the new event aside: its chain met the altered event, not the recorded one.
    assert live.read("SELECT count(*) FROM audit_trail WHERE ticket_id = ?", (str(desk.ticket_id(n)),)) \
        == [(versions,)]
    assert not verify(desk, live).ok
    store_state(path, hex_id, 2, original)  # restored from a backup
    url = rebuilt(desk, tmp_path)
    check = guard_swap(live.url, url)
    assert check.kept and check.added == 1
    live.close()
    swap(url, live.url)
    repaired = ReadStore(live.url)
    assert verify(desk, repaired).ok
    assert repaired.read("SELECT count(*) FROM audit_trail WHERE ticket_id = ?",
                         (str(desk.ticket_id(n)),)) == [(versions + 1,)]
    repaired.close()
