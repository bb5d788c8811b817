"""Desk scopes on the intake topic: a service opens tickets and acts only on its own desks.

Each case runs through ``read_record`` (the service's desks come from the configured services)
and ``apply_commands``, staged and one at a time: another desk's ticket is answered exactly as
one that does not exist, and a new ticket on another desk is refused naming ``desk``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import msgpack
import pytest
from structlog.testing import capture_logs

from tickets.application.clock import VirtualClock
from tickets.consumers.intake_apply import Applied, apply_commands, apply_one
from tickets.consumers.intake_messages import Command, IntakeRecord, read_record
from tickets.consumers.staging import StagingDesk
from tickets.domain.actor import Actor
from tickets.domain.catalogue import Catalogue
from tickets.domain.scope import EVERY_DESK, DeskScope

SERVICES = {"webform": DeskScope(frozenset({"web"})), "o365-portal": DeskScope(frozenset({"o365"})),
            "mail-gw": EVERY_DESK}
AT = "2026-11-20T11:00:00Z"


@pytest.fixture(autouse=True)
def _logs_kept_in_memory() -> Iterator[None]:
    with capture_logs():
        yield


@pytest.fixture
def desk(catalogue: Catalogue, clock: VirtualClock) -> StagingDesk:
    return StagingDesk(catalogue, clock=clock, env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
                       rng=random.Random(5))


def sent(service: str, message: dict[str, Any], offset: int = 0) -> Command:
    record = IntakeRecord("tickets.intake", 0, offset, msgpack.packb(message),
                          [("service", service.encode())])
    read = read_record(record, SERVICES)
    assert isinstance(read, Command), read
    return read


def o365_ticket(desk: StagingDesk) -> str:
    opened = apply_commands(desk, [sent("mail-gw", {
        "command_id": "seed", "type": "open", "desk": "o365", "requester": "c-9",
        "requester_role": "admin", "title": "Mail down", "severity": "B", "at": AT})])
    number = opened[0].answer.ticket_number
    assert number is not None
    return number


Apply = Any
WAYS: list[Apply] = [
    lambda desk, command: apply_commands(desk, [command])[0],
    lambda desk, command: apply_one(desk, command),
]


def test_the_configured_services_desks_travel_with_each_command() -> None:
    assert sent("webform", {"command_id": "c", "type": "respond", "ticket": "MSO-7K3M9Q"}).desks == \
        SERVICES["webform"]
    assert sent("mail-gw", {"command_id": "c", "type": "respond", "ticket": "MSO-7K3M9Q"}).desks == \
        EVERY_DESK


@pytest.mark.parametrize("way", WAYS, ids=["staged", "one_by_one"])
@pytest.mark.parametrize(("kind", "extra"), [
    ("respond", {}), ("reply", {"actor": "customer:c-9"}), ("close", {"reason": "resolved"}),
    ("escalate", {"reason": "complaint"}), ("assign", {"agent": "a-1"}),
    ("set_severity", {"severity": "A", "reason": "reclassified"}),
])
def test_another_desks_ticket_is_answered_as_one_that_does_not_exist(
    desk: StagingDesk, way: Apply, kind: str, extra: dict[str, Any],
) -> None:
    number = o365_ticket(desk)
    unknown = number[:-1] + ("X" if number[-1] != "X" else "Y")
    message = {"command_id": "c-1", "type": kind, "at": AT, **extra}
    hidden: Applied = way(desk, sent("webform", {**message, "ticket": number}))
    none: Applied = way(desk, sent("webform", {**message, "ticket": unknown}, offset=1))
    assert not hidden.answer.accepted and hidden.answer.error is not None
    assert hidden.answer.error["field"] == "ticket" and hidden.answer.error["rule"] == "known_ticket"
    assert str(hidden.answer.as_map()).replace(number, "REF") == \
        str(none.answer.as_map()).replace(unknown, "REF")
    assert [e.type for e in desk.history(number)] == ["Opened"]  # nothing happened to it
    mine: Applied = way(desk, sent("o365-portal", {**message, "command_id": "c-2", "ticket": number}))
    assert mine.answer.accepted, mine.answer.error


@pytest.mark.parametrize("way", WAYS, ids=["staged", "one_by_one"])
@pytest.mark.parametrize("service", ["webform", "o365-portal"])
def test_a_new_ticket_on_another_desk_is_refused_naming_the_desk(
    desk: StagingDesk, way: Apply, service: str,
) -> None:
    zoom = {"command_id": "o-1", "type": "open", "desk": "zoom", "requester": "r-1",
            "requester_role": "admin", "title": "Camera", "at": AT}
    refused: Applied = way(desk, sent(service, zoom))
    assert refused.answer.error is not None
    assert (refused.answer.error["field"], refused.answer.error["rule"]) == ("desk", "desk_in_scope")
    assert "zoom" in refused.answer.error["message"]
    assert list(desk.opened_ticket_ids()) == []
    accepted: Applied = way(desk, sent("mail-gw", zoom))
    assert accepted.answer.accepted


def test_a_batch_mixing_desks_applies_only_the_services_own(desk: StagingDesk) -> None:
    number = o365_ticket(desk)
    batch = [sent("webform", {"command_id": "w-1", "type": "respond", "ticket": number, "at": AT}),
             sent("o365-portal", {"command_id": "p-1", "type": "respond", "ticket": number, "at": AT},
                  offset=1)]
    done = apply_commands(desk, batch)
    assert [d.answer.accepted for d in done] == [False, True]
    assert [e.actor for e in desk.history(number)][-1] == str(Actor("service", "o365-portal"))


def test_a_receipt_from_before_the_desks_narrowed_answers_no_more(desk: StagingDesk) -> None:
    number = o365_ticket(desk)
    message = {"command_id": "r-1", "type": "respond", "ticket": number, "at": AT}
    first = apply_commands(desk, [Command(sent("webform", message).record, message,
                                          Actor("service", "webform"), EVERY_DESK)])
    assert first[0].answer.accepted
    again = apply_commands(desk, [sent("webform", message)])  # now on desk web only
    assert again[0].answer.error is not None and again[0].answer.error["rule"] == "known_ticket"
