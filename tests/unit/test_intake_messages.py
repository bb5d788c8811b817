"""Intake records: decoded, checked field by field, refused with field and rule; the service header."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest

from tickets.config import intake_services
from tickets.consumers.intake_messages import (
    Command,
    IntakeRecord,
    Refusal,
    answer_key,
    read_record,
    service_of,
)
from tickets.domain.actor import Actor
from tickets.domain.errors import ValidationError
from tickets.domain.scope import EVERY_DESK

WEBFORM = [("service", b"webform")]


def record(value: Any, headers: list[tuple[str, bytes]] | None = None, *, raw: bool = False) -> IntakeRecord:
    data = value if raw else msgpack.packb(value, use_bin_type=True)
    return IntakeRecord("tickets.intake", 2, 41, data, WEBFORM if headers is None else headers)


def open_message(**extra: Any) -> dict[str, Any]:
    return {"command_id": "cmd-1", "type": "open", "desk": "o365", "requester": "c-1",
            "requester_role": "admin", "title": "Mail down", **extra}


def test_a_well_formed_command_carries_the_services_identity() -> None:
    read = read_record(record(open_message()), None)
    assert isinstance(read, Command)
    assert read.identity == Actor("service", "webform")
    assert read.command_id == "cmd-1"


@pytest.mark.parametrize(
    ("value", "raw", "field", "rule"),
    [
        (b"\xc1 not msgpack", True, "command", "msgpack"),
        (None, True, "command", "msgpack"),
        (msgpack.packb(open_message()) + b"\x01", True, "command", "msgpack"),
        ([1, 2, 3], False, "command", "type"),
        ({"command_id": "x", "type": "fly"}, False, "type", "known_command"),
        (open_message(colour="red"), False, "colour", "unknown_field"),
        (open_message(title=7), False, "title", "type"),
        (open_message(title=b"bytes"), False, "title", "type"),
        ({k: v for k, v in open_message().items() if k != "desk"}, False, "desk", "required"),
        ({k: v for k, v in open_message().items() if k != "command_id"}, False, "command_id",
         "required"),
        (open_message(at="yesterday"), False, "at", "iso8601"),
    ],
)
def test_malformed_records_are_refused_naming_field_and_rule(
    value: Any, raw: bool, field: str, rule: str
) -> None:
    read = read_record(record(value, raw=raw), None)
    assert isinstance(read, Refusal)
    assert (read.field, read.rule) == (field, rule)
    assert read.error()["rule"] == rule and read.error()["field"] == field


def test_a_refusal_keeps_the_command_id_when_there_is_one() -> None:
    refused = read_record(record(open_message(title=7)), None)
    assert isinstance(refused, Refusal) and refused.command_id == "cmd-1"
    assert answer_key(refused.record, refused.command_id) == "cmd-1"
    nameless = read_record(record([1]), None)
    assert isinstance(nameless, Refusal) and nameless.command_id is None
    assert answer_key(nameless.record, None) == "2:41"


@pytest.mark.parametrize(
    ("headers", "rule"),
    [
        ([], "required"),
        ([("service", b"a"), ("service", b"b")], "required"),
        ([("service", b"not a name!")], "service_id_format"),
        ([("service", b"\xff\xfe")], "service_id_format"),
        ([("service", b"mallory")], "allowed_service"),
    ],
)
def test_the_service_header_names_one_allowed_service(headers: list[tuple[str, bytes]], rule: str) -> None:
    with pytest.raises(ValidationError) as refused:
        service_of(headers, {"webform": EVERY_DESK, "chatbot": EVERY_DESK})
    assert (refused.value.field, refused.value.rule) == ("service", rule)
    read = read_record(record(open_message(), headers), frozenset({"webform"}))
    assert isinstance(read, Refusal) and read.field == "service"


def test_without_an_allow_list_any_well_formed_service_name_is_taken() -> None:
    assert service_of([("service", b"mail-gw.eu")], None) == (Actor("service", "mail-gw.eu"), EVERY_DESK)


def test_a_service_acts_for_a_requester_named_in_the_message() -> None:
    read = read_record(record({"command_id": "c2", "type": "reply", "ticket": "MSO-7K3M9Q",
                               "actor": "customer:c-1"}), None)
    assert isinstance(read, Command) and read.identity == Actor("service", "webform")


@pytest.mark.parametrize("actor", ["system:scheduler", "system:anything", "agent:a-1",
                                   "service:someone-else"])
def test_a_service_may_not_act_as_the_system_an_agent_or_another_service(actor: str) -> None:
    read = read_record(record({"command_id": "c2", "type": "escalate", "ticket": "MSO-7K3M9Q",
                               "reason": "complaint", "actor": actor}), None)
    assert isinstance(read, Refusal) and read.field == "actor"
    assert read.rule == ("system_actor" if actor.startswith("system:") else "act_for_requesters")
    assert read.command_id == "c2"


def test_the_older_allow_list_puts_each_named_service_on_every_desk() -> None:
    assert intake_services({}) is None
    assert intake_services({"TICKETS_INTAKE_SERVICES": " "}) is None
    assert intake_services({"TICKETS_INTAKE_SERVICES": "webform, chatbot,"}) == {
        "webform": EVERY_DESK, "chatbot": EVERY_DESK}
