"""The integrity check: the store's hash chains against the audit trail's, tampering found by version."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.conftest import AGENT, CUSTOMER, SERVICE
from tests.unit.replay_week import ProjectedWeek, project, projected_week
from tickets.application.desk import TicketDesk
from tickets.domain.catalogue import Catalogue
from tickets.domain.errors import TicketNotFoundError
from tickets.projections.readstore import ReadStore
from tickets.replay.integrity import verify

Week = ProjectedWeek


@pytest.fixture
def week(tmp_path: Path, catalogue: Catalogue) -> Iterator[Week]:
    with projected_week(tmp_path, catalogue) as projected:
        yield projected


def long_ticket(desk: TicketDesk, numbers: list[str]) -> str:
    return max(numbers, key=lambda n: len(desk.history(n)))


def tamper(path: Path, sql: str, *params: object) -> None:
    """Change the event store behind the engine's back."""
    with sqlite3.connect(path) as conn:
        conn.execute(sql, params)


def stored_state(path: Path, ticket_id: str, version: int) -> dict[str, object]:
    with sqlite3.connect(path) as conn:
        (state,) = conn.execute(
            "SELECT state FROM stored_events WHERE originator_id = ? AND originator_version = ?",
            (ticket_id, version)).fetchone()
    return dict(json.loads(state))


def test_an_untouched_store_verifies_everywhere(week: Week) -> None:
    desk, store, numbers, _ = week
    report = verify(desk, store)
    assert report.ok and not report.findings
    assert len(report.tickets) == len(numbers)
    assert sum(t.store_events for t in report.tickets) == sum(len(desk.history(n)) for n in numbers)


def test_an_altered_event_is_found_at_its_ticket_and_version(week: Week) -> None:
    desk, store, numbers, path = week
    n = long_ticket(desk, numbers)
    hex_id = desk.ticket_id(n).hex
    state = stored_state(path, hex_id, 2)
    state["actor"] = "agent:someone-else"
    tamper(path, "UPDATE stored_events SET state = ? WHERE originator_id = ? AND originator_version = 2",
           json.dumps(state).encode(), hex_id)
    report = verify(desk, store)
    assert not report.ok
    assert [(f.number, f.version, f.kind) for f in report.findings] == [(n, 2, "altered")]
    assert "actor" in report.findings[0].detail
    assert [(t.number, t.broken_at) for t in report.broken] == [(n, 2)]


def test_an_event_that_no_longer_decodes_is_reported_as_altered(week: Week) -> None:
    desk, store, numbers, path = week
    n = numbers[0]
    tamper(path, "UPDATE stored_events SET state = ? WHERE originator_id = ? AND originator_version = 1",
           b"{not json", desk.ticket_id(n).hex)
    report = verify(desk, store, n)
    assert [(f.version, f.kind) for f in report.findings] == [(1, "altered")]
    assert report.tickets[0].broken_at == 1


def test_a_removed_event_is_found_where_the_chain_breaks(week: Week) -> None:
    desk, store, numbers, path = week
    n = long_ticket(desk, numbers)
    tamper(path, "DELETE FROM stored_events WHERE originator_id = ? AND originator_version = 3",
           desk.ticket_id(n).hex)
    report = verify(desk, store)
    assert [(f.number, f.version, f.kind) for f in report.findings] == [(n, 3, "removed")]
    assert report.broken[0].broken_at == 3


def test_two_swapped_events_are_found_as_reordered(week: Week) -> None:
    desk, store, numbers, path = week
    n = long_ticket(desk, numbers)
    hex_id = desk.ticket_id(n).hex
    where = "WHERE originator_id = ? AND originator_version = ?"
    tamper(path, f"UPDATE stored_events SET originator_version = -1 {where}", hex_id, 3)
    tamper(path, f"UPDATE stored_events SET originator_version = 3 {where}", hex_id, 4)
    tamper(path, f"UPDATE stored_events SET originator_version = 4 {where}", hex_id, -1)
    report = verify(desk, store, n)
    assert [(f.version, f.kind) for f in report.findings] == [(3, "reordered"), (4, "reordered")]
    assert "version 4" in report.findings[0].detail
    assert report.tickets[0].broken_at == 3


def test_events_the_trail_has_not_reached_are_pending_not_broken(week: Week, tmp_path: Path) -> None:
    desk, _, numbers, _ = week
    behind = ReadStore(f"sqlite:///{tmp_path / 'behind.sqlite3'}")
    report = verify(desk, behind)  # no trail at all yet
    assert report.ok
    assert report.pending == sum(len(desk.history(n)) for n in numbers)
    fresh = desk.open(desk="o365", requester=CUSTOMER.id, requester_role="admin", title="New",
                      actor=SERVICE).number
    report = verify(desk, week[1])
    assert report.ok and report.pending == 1
    assert [(t.number, t.pending) for t in report.tickets if t.pending] == [(fresh, [1])]


def test_an_altered_trail_entry_is_reported(week: Week) -> None:
    desk, store, numbers, _ = week
    n = numbers[1]
    with store.transaction() as tx:
        tx.execute("UPDATE audit_trail SET actor = 'agent:nobody' WHERE ticket_id = ? AND version = 1",
                   (str(desk.ticket_id(n)),))
    report = verify(desk, store, n)
    kinds = {(f.version, f.kind) for f in report.findings}
    assert (1, "trail_altered") in kinds and (1, "altered") in kinds
    assert report.tickets[0].broken_at is None or report.tickets[0].broken_at == 1


def test_an_unknown_ticket_is_refused(week: Week) -> None:
    desk, store, _, _ = week
    with pytest.raises(TicketNotFoundError):
        verify(desk, store, "WEB-000000")


def test_an_event_the_trail_refused_after_a_change_is_reported_not_pending(week: Week) -> None:
    desk, store, _, path = week
    n = desk.open(desk="o365", requester=CUSTOMER.id, requester_role="admin", title="Later",
                  actor=SERVICE).number
    desk.assign(n, "a-1", actor=AGENT)
    project(desk, store)
    hex_id = desk.ticket_id(n).hex
    state = stored_state(path, hex_id, 2)
    state["agent"] = "a-2"
    tamper(path, "UPDATE stored_events SET state = ? WHERE originator_id = ? AND originator_version = 2",
           json.dumps(state).encode(), hex_id)
    desk.respond(n, actor=AGENT)
    project(desk, store)  # the trail sees version 3 follow a chain it never recorded
    report = verify(desk, store, n)
    assert [(f.version, f.kind) for f in report.findings] == [(2, "altered"), (3, "refused_by_trail")]
    assert "payload.agent" in report.findings[0].detail
    assert report.pending == 0
