"""The ticket's state is folded when read (``domain.ticket_state.FoldOnRead``): each applied event
once, in order, and always the state ``fold_all`` gives over the ticket's history."""

from __future__ import annotations

from copy import deepcopy

import pytest
from eventsourcing.application import project_aggregate

from tests.unit.conftest import AGENT, CUSTOMER, SERVICE, at, live_every_event_type
from tickets.application.desk import TicketDesk
from tickets.domain import ticket_state
from tickets.domain.facts import FoldError, fold_all
from tickets.domain.history import HistoryEntry
from tickets.domain.ticket import Ticket
from tickets.domain.ticket_state import TicketState


@pytest.fixture
def folds(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every (event type, version) the aggregate's state is evolved by."""
    seen: list[tuple[str, int]] = []
    original = ticket_state.evolve

    def counting(state: TicketState | None, entry: HistoryEntry) -> TicketState:
        seen.append((entry.type, entry.version))
        return original(state, entry)

    monkeypatch.setattr(ticket_state, "evolve", counting)
    return seen


def open_zoom(desk: TicketDesk) -> str:
    return desk.open(desk="zoom", plan="premier", severity="P2", requester=CUSTOMER.id,
                     requester_role="admin", title="T", actor=SERVICE,
                     at=at("2026-11-02T09:00:00+01:00")).number


def replayed(desk: TicketDesk, number: str) -> Ticket:
    ticket = project_aggregate(None, desk.events.get(desk.ticket_id(number)))
    assert isinstance(ticket, Ticket)
    return ticket


def test_a_replayed_ticket_folds_every_event_once_in_order_when_first_read(
    desk: TicketDesk, folds: list[tuple[str, int]]
) -> None:
    number = live_every_event_type(desk)
    folds.clear()
    ticket = replayed(desk, number)
    assert folds == []
    assert ticket.facts == fold_all(desk.history(number))
    assert [version for _type, version in folds] == list(range(1, 11))
    assert ticket.status == "closed" and ticket.title == "T"
    assert len(folds) == 10  # read again: the fold was kept


def test_each_event_is_folded_before_it_is_saved_and_once_by_the_cached_ticket(
    desk: TicketDesk, folds: list[tuple[str, int]]
) -> None:
    number = open_zoom(desk)
    desk.assign(number, "a-1", actor=AGENT, at=at("2026-11-02T09:01:00+01:00"))
    desk.respond(number, actor=AGENT, at=at("2026-11-02T09:02:00+01:00"))
    desk.close_ticket(number, "resolved", actor=AGENT, at=at("2026-11-02T09:03:00+01:00"))
    # the command's copy folds its event before saving it; the cached ticket, fast-forwarded by
    # it, folds it once more when the next command copies it
    saved = [("Opened", 1), ("Assigned", 2), ("Responded", 3), ("Closed", 4)]
    assert folds == [fold for event in saved for fold in (event, event)][:-1]
    assert desk.get(number).status == "closed"
    assert folds[-1] == ("Closed", 4) and len(folds) == 8


def test_an_event_the_evolve_refuses_is_never_stored(
    desk: TicketDesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = open_zoom(desk)
    original = ticket_state.evolve

    def refusing_assignments(state: TicketState | None, entry: HistoryEntry) -> TicketState:
        if entry.type == "Assigned":
            raise FoldError("refused here", "test")
        return original(state, entry)

    monkeypatch.setattr(ticket_state, "evolve", refusing_assignments)
    with pytest.raises(FoldError):
        desk.assign(number, "a-1", actor=AGENT, at=at("2026-11-02T09:01:00+01:00"))
    monkeypatch.setattr(ticket_state, "evolve", original)
    assert [e.type for e in desk.history(number)] == ["Opened"]
    assert desk.get(number).version == 1


def test_a_copy_taken_before_the_first_read_holds_the_same_state_and_changes_alone(
    desk: TicketDesk,
) -> None:
    number = open_zoom(desk)
    desk.assign(number, "a-1", actor=AGENT, at=at("2026-11-02T09:01:00+01:00"))
    original = replayed(desk, number)
    copy = deepcopy(original)
    assert copy.state == original.state == TicketState(
        fold_all(desk.history(number)), original.state.opening)
    copy.respond(at=at("2026-11-02T09:02:00+01:00"), now=desk.clock.now(), actor=AGENT,
                 channel="api")
    assert (copy.first_response_at, copy.version) == (at("2026-11-02T09:02:00+01:00"), 3)
    assert (original.first_response_at, original.version) == (None, 2)


def test_a_state_that_cannot_fold_is_refused_on_every_read(desk: TicketDesk) -> None:
    number = live_every_event_type(desk)
    events = list(desk.events.get(desk.ticket_id(number)))
    ticket = project_aggregate(None, events[:1])
    assert isinstance(ticket, Ticket)
    ticket.__dict__["_unfolded"].append(events[2])  # a gap the library would have refused
    for _read in range(2):
        with pytest.raises(ValueError, match="does not follow"):
            ticket.status  # noqa: B018
