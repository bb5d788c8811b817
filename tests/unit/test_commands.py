"""Command messages: validated field by field, applied once per command id, answered the same way."""

from __future__ import annotations

from typing import Any

import pytest

from tickets.application.commands import execute
from tickets.application.desk import TicketDesk
from tickets.domain.actor import Actor

WEBFORM = Actor("service", "webform")


def open_message(**extra: Any) -> dict[str, Any]:
    return {"command_id": "cmd-1", "type": "open", "desk": "o365", "requester": "c-1",
            "requester_role": "admin", "title": "Mail down", "severity": "A",
            "at": "2026-11-16T10:00:00Z", **extra}


def test_open_is_accepted_with_ticket_id_and_number(desk: TicketDesk) -> None:
    answer = execute(desk, open_message(), WEBFORM).as_map()
    assert answer["status"] == "accepted" and answer["ticket_number"].startswith("MSO-")
    assert desk.history(answer["ticket_number"])[0].actor == "service:webform"


def test_a_redelivered_command_is_applied_once(desk: TicketDesk) -> None:
    first = execute(desk, open_message(), WEBFORM)
    again = execute(desk, open_message(), WEBFORM)
    assert again.accepted and again.duplicate
    assert (again.ticket_id, again.ticket_number) == (first.ticket_id, first.ticket_number)
    assert len(list(desk.opened_ticket_ids())) == 1
    reply = {"command_id": "cmd-2", "type": "respond", "ticket": first.ticket_number,
             "at": "2026-11-16T10:10:00Z"}
    execute(desk, reply, WEBFORM)
    execute(desk, reply, WEBFORM)
    assert [e.type for e in desk.history(first.ticket_number or "")] == ["Opened", "Responded"]


@pytest.mark.parametrize(
    ("message", "field", "rule"),
    [
        ([1, 2], "command", "type"),
        ({"type": "fly"}, "type", "known_command"),
        (open_message(colour="red"), "colour", "unknown_field"),
        (open_message(title=5), "title", "type"),
        (open_message(fields="x"), "fields", "type"),
        ({k: v for k, v in open_message().items() if k != "title"}, "title", "required"),
        ({k: v for k, v in open_message().items() if k != "command_id"}, "command_id", "required"),
        (open_message(at="tomorrow"), "at", "iso8601"),
        (open_message(at="2026-11-16T10:00:00"), "at", "aware_time"),
        (open_message(expected_version=True), "expected_version", "type"),
        (open_message(desk="nope"), "desk", "known_desk"),
        (open_message(severity="Z"), "severity", "severity_in_plan"),
        (open_message(command_id="a\x00b"), "command_id", "printable"),
        (open_message(command_id="line\nbreak"), "command_id", "printable"),
        (open_message(command_id="x" * 129), "command_id", "required"),
    ],
)
def test_bad_messages_are_rejected_naming_field_and_rule(
    desk: TicketDesk, message: object, field: str, rule: str
) -> None:
    answer = execute(desk, message, WEBFORM).as_map()
    assert answer["status"] == "rejected"
    assert (answer["error"]["field"], answer["error"]["rule"]) == (field, rule)
    assert list(desk.opened_ticket_ids()) == []


def test_only_a_service_acts_for_someone_else(desk: TicketDesk) -> None:
    answer = execute(desk, open_message(actor="customer:c-1"), Actor("agent", "a-1")).as_map()
    assert answer["error"]["rule"] == "act_for_others"


def test_a_type_that_is_not_text_is_rejected_not_a_crash(desk: TicketDesk) -> None:
    answer = execute(desk, {"command_id": "c", "type": ["open"]}, WEBFORM).as_map()
    assert (answer["error"]["field"], answer["error"]["rule"]) == ("type", "known_command")


def test_a_parsed_message_is_a_typed_command_with_its_defaults() -> None:
    from tickets.application.commands import Assign, OpenTicket, RequestInfo, parse

    opened = parse(open_message(), WEBFORM)
    assert opened.body == OpenTicket(desk="o365", requester="c-1", requester_role="admin",
                                     title="Mail down", severity="A")
    assert opened.fields == {k: v for k, v in open_message().items()
                             if k not in ("command_id", "type", "at")}  # the digest's input
    assign = parse({"command_id": "c-2", "type": "assign", "ticket": "MSO-1", "agent": "a-1"},
                   WEBFORM)
    assert assign.body == Assign(ticket="MSO-1", agent="a-1", level="front_line")
    asked = parse({"command_id": "c-3", "type": "request_info", "ticket": "MSO-1"}, WEBFORM)
    assert asked.body == RequestInfo(ticket="MSO-1", replace=False)


def test_every_command_type_has_one_typed_command_and_one_handler() -> None:
    from dataclasses import fields, is_dataclass

    from tickets.application.commands import FIELDS, HANDLERS

    assert set(FIELDS) == set(HANDLERS)
    for name, (body_class, handler) in HANDLERS.items():
        assert is_dataclass(body_class) and callable(handler), name
        assert list(FIELDS[name]) == [f.name for f in fields(body_class)]
