"""The write API: the intake's commands and answers over HTTP, applied once, and never a 500."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.http_rig import HttpRig, make_rig
from tickets.domain.catalogue import Catalogue


@pytest.fixture
def rig(catalogue: Catalogue, tmp_path: Path) -> HttpRig:
    return make_rig(catalogue, tmp_path)


def opening(command_id: str | None = "open-1", **more: Any) -> dict[str, Any]:
    message = {"type": "open", "desk": "o365", "requester": "c-9", "requester_role": "admin",
               "title": "Teams calls drop", "severity": "A", "fields": {"contact_email": "x@y.z"}}
    if command_id is not None:
        message["command_id"] = command_id
    return {**message, **more}


def test_an_accepted_command_answers_with_the_ticket_id_and_number(rig: HttpRig) -> None:
    response = rig.command(opening())
    assert response.status_code == 200
    answer = response.json()
    assert answer["status"] == "accepted" and answer["duplicate"] is False
    assert answer["command_id"] == "open-1" and answer["version"] == 1
    ticket = rig.desk.get(answer["ticket_number"])
    assert str(ticket.id) == answer["ticket_id"]
    [opened] = rig.desk.history(ticket.id)
    assert (opened.actor, opened.channel) == ("service:service-1", "api")


def test_an_agent_token_acts_as_that_agent(rig: HttpRig) -> None:
    number = rig.command(opening()).json()["ticket_number"]
    answer = rig.command({"type": "respond", "ticket": number, "command_id": "r-1"}, role="agent")
    assert answer.status_code == 200
    assert rig.desk.history(number)[-1].actor == "agent:agent-1"
    refused = rig.command({"type": "respond", "ticket": number, "command_id": "r-2",
                           "actor": "agent:someone-else"}, role="agent")
    assert refused.status_code == 400
    assert refused.json()["error"]["rule"] == "act_for_others"


def test_a_retried_command_applies_once_and_gets_the_first_answer_again(rig: HttpRig) -> None:
    first = rig.command(opening("same-id")).json()
    again = rig.command(opening("same-id"))
    assert again.status_code == 200
    assert again.json() == {**first, "duplicate": True}
    assert len(list(rig.desk.opened_ticket_ids())) == 1


def test_the_idempotency_key_header_stands_in_for_a_missing_command_id(rig: HttpRig) -> None:
    key = {"Idempotency-Key": "key-77"}
    first = rig.command(opening(None), headers=key).json()
    again = rig.command(opening(None), headers=key).json()
    assert first["command_id"] == again["command_id"] == "key-77"
    assert again["duplicate"] is True and again["ticket_id"] == first["ticket_id"]
    same = rig.command(opening("key-77"), headers=key)
    assert same.status_code == 200 and same.json()["duplicate"] is True
    assert len(list(rig.desk.opened_ticket_ids())) == 1


def test_a_header_and_a_command_id_that_differ_are_refused_naming_the_field(rig: HttpRig) -> None:
    response = rig.command(opening("body-id"), headers={"Idempotency-Key": "header-id"})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "command_id"
    assert response.json()["error"]["rule"] == "idempotency_key_matches"
    assert list(rig.desk.opened_ticket_ids()) == []


@pytest.mark.parametrize(("message", "status", "field", "rule"), [
    ({**opening(), "desk": "nowhere"}, 400, "desk", "known_desk"),
    ({**opening(), "requester_role": "user"}, 422, "requester_role", "who_may_open"),
    ({**opening(), "severity": "Z"}, 422, "severity", "severity_in_plan"),
    ({**opening(), "colour": "red"}, 400, "colour", "unknown_field"),
    ({**opening(), "title": 42}, 400, "title", "type"),
    ({**opening(), "fields": ["a"]}, 400, "fields", "type"),
    ({**opening(), "fields": {"contact_email": 5}}, 400, "contact_email", "text"),
    ({**opening(), "expected_version": True}, 400, "expected_version", "type"),
    ({**opening(), "at": "yesterday"}, 400, "at", "iso8601"),
    ({**opening(), "at": "2030-01-01T00:00:00Z"}, 422, None, None),
    ({key: v for key, v in opening().items() if key != "title"}, 400, "title", "required"),
    ({key: v for key, v in opening().items() if key != "command_id"}, 400, "command_id", "required"),
    ({"type": "teleport", "command_id": "t"}, 400, "type", "known_command"),
    ({"type": ["open"], "command_id": "t"}, 400, "type", "type"),
    ({"type": "respond", "ticket": "MSO-0000AA", "command_id": "t"}, 404, "ticket", "known_ticket"),
    ({"type": "respond", "ticket": "nonsense", "command_id": "t"}, 400, "ticket", "ticket_reference"),
    ([1, 2], 400, "command", "type"),
    ("open", 400, "command", "type"),
    (3.5, 400, "command", "type"),
    ({**opening(), "expected_version": 1e300}, 400, "expected_version", "type"),
])
def test_a_rejected_command_names_field_and_rule_with_a_4xx(
    rig: HttpRig, message: Any, status: int, field: str | None, rule: str | None
) -> None:
    response = rig.command(message)
    assert response.status_code == status, response.text
    answer = response.json()
    assert answer["status"] == "rejected"
    if field is not None:
        assert answer["error"]["field"] == field
    if rule is not None:
        assert answer["error"]["rule"] == rule
    assert answer["error"]["message"]


def test_a_command_that_does_not_fit_the_ticket_is_a_409(rig: HttpRig) -> None:
    number = rig.command(opening()).json()["ticket_number"]
    close = {"type": "close", "ticket": number, "reason": "resolved"}
    assert rig.command({**close, "command_id": "c-1"}, role="agent").status_code == 200
    again = rig.command({**close, "command_id": "c-2"}, role="agent")
    assert again.status_code == 409
    assert again.json()["error"]["error"] == "lifecycle"


@pytest.mark.parametrize(("body", "rule"), [
    (b"{not json", "json"), (b'{"type": "open",}', "json"), (b"", "required"), (b"   ", "required"),
    (b'{"type": NaN}', "json"), (b"\xff\xfe{}", "json"), (b"[" * 30_000 + b"]" * 30_000, "max_depth"),
])
def test_a_body_that_is_not_json_is_a_400(rig: HttpRig, body: bytes, rule: str) -> None:
    response = rig.client.post("/api/commands", content=body, headers=rig.auth("service"))
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "body" and response.json()["error"]["rule"] == rule


def test_a_json_null_is_not_a_command(rig: HttpRig) -> None:
    response = rig.client.post("/api/commands", content=b"null", headers=rig.auth("service"))
    assert response.status_code == 400
    assert (response.json()["error"]["field"], response.json()["error"]["rule"]) == ("command", "type")


def test_a_body_over_64_kib_is_a_413(rig: HttpRig) -> None:
    big = json.dumps(opening(title="x" * 70_000)).encode()
    response = rig.client.post("/api/commands", content=big, headers=rig.auth("service"))
    assert response.status_code == 413
    assert response.json()["error"] == {"error": "validation", "field": "body", "rule": "max_bytes",
                                        "message": "the body is larger than 65536 bytes"}

    def chunks() -> Any:  # no Content-Length: counted as it arrives
        for _ in range(20):
            yield b" " * 4096

    streamed = rig.client.post("/api/commands", content=chunks(), headers=rig.auth("service"))
    assert streamed.status_code == 413
    assert list(rig.desk.opened_ticket_ids()) == []


def test_an_idempotency_key_over_128_characters_is_a_400(rig: HttpRig) -> None:
    response = rig.command(opening(None), headers={"Idempotency-Key": "k" * 129})
    assert response.status_code == 400
    assert response.json()["field"] == "Idempotency-Key"


def test_a_caller_reads_back_its_own_answers_and_auditors_read_all(rig: HttpRig) -> None:
    answer = rig.command(opening("mine")).json()
    assert rig.get("/api/commands/mine", role="service").json() == answer
    assert rig.get("/api/commands/mine", role="auditor").json() == answer
    assert rig.get("/api/commands/mine", role="agent").status_code == 404  # not the agent's
    assert rig.get("/api/commands/never-sent", role="service").status_code == 404
    assert rig.get("/api/commands/mine", role="dashboard").status_code == 403
    rejected = rig.command({**opening("bad"), "desk": "nowhere"}).json()
    assert rig.get("/api/commands/bad", role="service").json() == rejected


SCALARS = (st.none() | st.booleans() | st.integers() | st.text(max_size=20)
           | st.floats(allow_nan=False, allow_infinity=False))
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=12,
)
FIELD_NAMES = st.sampled_from(["type", "command_id", "desk", "requester", "requester_role", "title",
                               "fields", "severity", "plan", "category", "ticket", "reason", "at",
                               "actor", "channel", "expected_version", "level", "agent", "replace"])
COMMANDS = st.dictionaries(FIELD_NAMES, JSON | st.sampled_from(
    ["open", "respond", "close", "o365", "admin", "A", "2026-11-16T09:00:00Z", "agent:x", "MSO-0000AA"]),
    max_size=8)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(message=COMMANDS | JSON)
def test_no_command_body_makes_a_500(rig: HttpRig, message: Any) -> None:
    response = rig.command(message)
    assert 200 <= response.status_code < 500, response.text
    assert response.json()["status"] in ("accepted", "rejected")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=st.dictionaries(st.sampled_from(["desk", "status", "severity", "sla_state", "due_before",
                                               "limit", "after", "other"]),
                              st.text(max_size=30), max_size=4))
def test_no_list_query_makes_a_500(rig: HttpRig, params: dict[str, str]) -> None:
    response = rig.get("/api/tickets", params=params)
    assert response.status_code in (200, 400), response.text
