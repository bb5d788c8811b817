"""TicketDesk loads and saves through the library's cache and recorder, without its runtime-protocol
checks (``application.recording``): nothing else about loading or saving may change."""

from __future__ import annotations

import random
import typing
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.application import project_aggregate
from eventsourcing.persistence import Recording

from tests.unit.conftest import AGENT, CUSTOMER, SERVICE, at, live_every_event_type
from tickets.application.clock import VirtualClock
from tickets.application.desk import TicketDesk
from tickets.config import persistence_env
from tickets.domain.catalogue import Catalogue
from tickets.domain.ticket import Ticket

WHEN = "2026-11-02T09:00:00+01:00"


def open_zoom(desk: TicketDesk, when: str = WHEN) -> str:
    return desk.open(desk="zoom", plan="premier", severity="P2", requester=CUSTOMER.id,
                     requester_role="admin", title="Meeting fails", actor=SERVICE,
                     at=at(when)).number


@pytest.fixture
def protocol_checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every ``isinstance`` against an eventsourcing runtime protocol, by protocol name."""
    meta: Any = type(typing.Protocol)
    original = meta.__instancecheck__
    seen: list[str] = []

    def counting(cls: type, instance: object) -> bool:
        if cls.__module__.startswith("eventsourcing"):
            seen.append(cls.__name__)
        return bool(original(cls, instance))

    monkeypatch.setattr(meta, "__instancecheck__", counting)
    yield seen


def test_commands_load_and_save_tickets_without_runtime_protocol_checks(
    desk: TicketDesk, protocol_checks: list[str]
) -> None:
    number = live_every_event_type(desk)
    desk.get(number)
    assert desk.get(number).version == 10
    assert protocol_checks == []


def test_a_loaded_ticket_is_the_one_the_library_projection_builds(desk: TicketDesk) -> None:
    number = live_every_event_type(desk)
    ticket = desk.get(number)
    by_library = project_aggregate(None, desk.events.get(ticket.id))
    assert isinstance(by_library, Ticket)
    assert (ticket.state, ticket.version, ticket.modified_on) == (
        by_library.state, by_library.version, by_library.modified_on)


def test_saved_events_reach_the_notify_hook_once_each(catalogue: Catalogue,
                                                      clock: VirtualClock) -> None:
    class Hooked(TicketDesk):
        recorded: list[tuple[UUID, int]] = []

        def _notify(self, recordings: list[Recording[UUID]]) -> None:
            self.recorded.extend((r.domain_event.originator_id, r.domain_event.originator_version)
                                 for r in recordings)

    desk = Hooked(catalogue, clock=clock, env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
                  rng=random.Random(7))
    number = open_zoom(desk)
    desk.assign(number, "a-1", actor=AGENT, at=at("2026-11-02T09:01:00+01:00"))
    ticket_id = desk.ticket_id(number)
    assert desk.recorded == [(ticket_id, 1), (ticket_id, 2)]


def test_saving_an_event_beside_an_aggregate_keeps_every_pending_event(desk: TicketDesk) -> None:
    first, second = open_zoom(desk), open_zoom(desk, "2026-11-02T09:00:30+01:00")
    one, other = desk.get(first), desk.get(second)
    for ticket in (one, other):
        ticket.respond(at=at("2026-11-02T09:01:00+01:00"), now=desk.clock.now(), actor=AGENT,
                       channel="api")
    desk.save(one, *other.collect_events())  # not all aggregates: the library's own path
    assert (desk.get(first).version, desk.get(second).version) == (2, 2)


def test_a_cached_ticket_catches_up_with_another_writer_on_the_same_store(
    catalogue: Catalogue, tmp_path: Path
) -> None:
    def a_desk() -> TicketDesk:
        return TicketDesk(catalogue, clock=VirtualClock(datetime(2026, 11, 3, tzinfo=UTC)),
                          env=persistence_env(f"sqlite:///{tmp_path / 'events.sqlite3'}"),
                          rng=random.Random())

    here, there = a_desk(), a_desk()
    number = open_zoom(here)
    assert here.get(number).agent is None  # now in this desk's cache
    there.assign(number, "a-2", actor=AGENT, at=at("2026-11-02T09:01:00+01:00"))
    there.respond(number, actor=AGENT, at=at("2026-11-02T09:02:00+01:00"))
    caught_up = here.get(number)
    assert (caught_up.agent, caught_up.first_response_at, caught_up.version) == (
        "a-2", at("2026-11-02T09:02:00+01:00"), 3)
    here.close_ticket(number, "resolved", actor=AGENT, at=at("2026-11-02T09:03:00+01:00"))
    assert there.get(number).status == "closed"


def test_a_command_that_fails_after_its_event_leaves_the_cached_ticket_as_stored(
    desk: TicketDesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = open_zoom(desk)
    desk.assign(number, "a-1", actor=AGENT, at=at("2026-11-02T09:01:00+01:00"))
    respond = Ticket.respond

    def respond_then_fail(ticket: Ticket, **kwargs: Any) -> None:
        respond(ticket, **kwargs)
        raise RuntimeError("failed after the event")

    monkeypatch.setattr(Ticket, "respond", respond_then_fail)
    with pytest.raises(RuntimeError):
        desk.respond(number, actor=AGENT, at=at("2026-11-02T09:02:00+01:00"))
    monkeypatch.setattr(Ticket, "respond", respond)
    kept = desk.get(number)
    assert (kept.version, kept.first_response_at) == (2, None)
    desk.respond(number, actor=AGENT, at=at("2026-11-02T09:03:00+01:00"))
    assert desk.get(number).first_response_at == at("2026-11-02T09:03:00+01:00")
