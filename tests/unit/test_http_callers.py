"""Each caller keeps to its own: its command ids, its answers, and who it may act as."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.unit.http_rig import HttpRig, make_rig
from tickets.domain.catalogue import Catalogue
from tickets.domain.scope import EVERY_DESK


@pytest.fixture
def rig(catalogue: Catalogue, tmp_path: Path) -> HttpRig:
    rig = make_rig(catalogue, tmp_path)
    for name, role in (("other-service", "service"), ("other-agent", "agent")):
        rig.tokens[name] = rig.ctx.tokens.create(name, role, EVERY_DESK)
    return rig


def opening(command_id: str = "open-1", **more: Any) -> dict[str, Any]:
    return {"command_id": command_id, "type": "open", "desk": "o365", "requester": "c-9",
            "requester_role": "admin", "title": "Teams calls drop", "severity": "A", **more}


@pytest.mark.parametrize(("first", "second"), [
    ("service", "other-service"), ("service", "agent"), ("agent", "other-agent"),
    ("other-service", "service"),
])
def test_another_callers_command_id_is_another_command_never_their_answer(
    rig: HttpRig, first: str, second: str
) -> None:
    mine = rig.command(opening("shared-id"), role=first).json()
    theirs = rig.command(opening("shared-id", title="Something else"), role=second)
    assert theirs.status_code == 200
    assert theirs.json()["duplicate"] is False
    assert theirs.json()["ticket_number"] != mine["ticket_number"]
    assert len(list(rig.desk.opened_ticket_ids())) == 2
    assert rig.get("/api/commands/shared-id", role=first).json() == mine
    assert rig.get("/api/commands/shared-id", role=second).json() == theirs.json()


def test_a_caller_cannot_read_another_callers_answer_even_naming_the_sender(rig: HttpRig) -> None:
    rig.command(opening("only-mine"))
    for role in ("other-service", "agent"):
        for query in ("", "?sender=service-1"):
            refused = rig.get(f"/api/commands/only-mine{query}", role=role)
            assert refused.status_code == 404 and refused.json()["rule"] == "known_command"
    named = rig.get("/api/commands/only-mine?sender=service-1", role="auditor")
    assert named.status_code == 200 and named.json()["command_id"] == "only-mine"


@pytest.mark.parametrize("again", [
    opening("k-1", title="Another title"),
    opening("k-1", severity="B"),
    opening("k-1", channel="web"),
    opening("k-1", at="2026-11-16T08:00:00Z"),
    {"command_id": "k-1", "type": "respond", "ticket": "MSO-7K3M9Q"},
    {"command_id": "k-1", "type": "escalate", "ticket": "MSO-7K3M9Q", "reason": "complaint"},
])
def test_a_command_id_reused_for_a_different_command_is_a_409(
    rig: HttpRig, again: dict[str, Any]
) -> None:
    first = rig.command(opening("k-1")).json()
    refused = rig.command(again)
    assert refused.status_code == 409
    assert refused.json()["error"]["field"] == "command_id"
    assert refused.json()["error"]["rule"] == "command_id_reused"
    assert len(list(rig.desk.opened_ticket_ids())) == 1
    assert rig.get("/api/commands/k-1", role="service").json() == first  # the first answer stays


def test_the_same_command_again_is_still_a_duplicate_with_the_first_answer(rig: HttpRig) -> None:
    first = rig.command(opening("k-2")).json()
    again = rig.command(opening("k-2"), headers={"Idempotency-Key": "k-2"})
    assert again.status_code == 200 and again.json() == {**first, "duplicate": True}


@pytest.mark.parametrize(("role", "actor", "rule"), [
    ("service", "system:scheduler", "system_actor"),
    ("service", "system:anything", "system_actor"),
    ("agent", "system:scheduler", "system_actor"),
    ("service", "agent:a-1", "act_for_requesters"),
    ("service", "service:other-service", "act_for_requesters"),
    ("agent", "customer:c-9", "act_for_others"),
    ("agent", "agent:other-agent", "act_for_others"),
])
def test_no_caller_acts_as_the_system_and_a_service_acts_only_for_requesters(
    rig: HttpRig, role: str, actor: str, rule: str
) -> None:
    number = rig.open()
    refused = rig.command({"command_id": "e-1", "type": "escalate", "ticket": number,
                           "reason": "complaint", "actor": actor}, role=role)
    assert refused.status_code == 400
    assert (refused.json()["error"]["field"], refused.json()["error"]["rule"]) == ("actor", rule)
    assert [e.type for e in rig.desk.history(number)] == ["Opened"]


def test_a_service_acts_for_the_requester_and_is_recorded_as_them(rig: HttpRig) -> None:
    number = rig.command(opening("o-1")).json()["ticket_number"]
    rig.command({"command_id": "q-1", "type": "request_info", "ticket": number}, role="agent")
    answer = rig.command({"command_id": "r-1", "type": "reply", "ticket": number,
                          "actor": "customer:c-9"})
    assert answer.status_code == 200
    assert rig.desk.history(number)[-1].actor == "customer:c-9"


@pytest.mark.parametrize("role", ["auditor", "dashboard"])
def test_reading_roles_may_not_write_even_as_the_system(rig: HttpRig, role: str) -> None:
    number = rig.open()
    refused = rig.command({"command_id": "e-1", "type": "escalate", "ticket": number,
                           "reason": "complaint", "actor": "system:scheduler"}, role=role)
    assert refused.status_code == 403 and refused.json()["rule"] == "role_may_write"
    assert [e.type for e in rig.desk.history(number)] == ["Opened"]


def post_raw(rig: HttpRig, raw: str) -> Any:
    headers = {**rig.auth("service"), "content-type": "application/json"}
    return rig.client.post("/api/commands", content=raw.encode(), headers=headers)


@pytest.mark.parametrize(("raw", "field"), [
    ('{"command_id":"s-1","type":"open","desk":"o365","requester":"c-1",'
     '"requester_role":"admin","title":"x\\ud800y"}', "title"),
    ('{"command_id":"s-\\udfff","type":"open"}', "command_id"),
    ('{"command_id":"s-1","type":"open","fields":{"contact_name":"\\udc80"}}',
     "fields.contact_name"),
    ('{"command_id":"s-1","type":"open","fields":{"\\ud800":"x"}}', "fields.<key>"),
    ('{"command_id":"s-1","type":"close","ticket":["ok","\\ud83d"]}', "ticket[1]"),
    ('{"\\ud800":1}', "<key>"),
])
def test_a_body_with_an_unpaired_surrogate_is_refused_naming_the_field(
    rig: HttpRig, raw: str, field: str
) -> None:
    refused = post_raw(rig, raw)
    assert refused.status_code == 400
    assert (refused.json()["error"]["field"], refused.json()["error"]["rule"]) == (
        field, "unicode_text")
    assert not list(rig.desk.opened_ticket_ids())


def test_a_paired_surrogate_is_text_and_is_taken(rig: HttpRig) -> None:
    answer = post_raw(rig, '{"command_id":"s-2","type":"open","desk":"o365","requester":"c-1",'
                      '"requester_role":"admin","title":"Mail \\ud83d\\ude00 down"}')
    assert answer.status_code == 200
    assert rig.desk.get(answer.json()["ticket_number"]).title == "Mail \U0001f600 down"


@pytest.mark.parametrize(("path", "role", "field"), [
    ("/api/tickets/%ED%A0%80", "agent", "path"),
    ("/api/tickets/MSO-%FF/audit", "auditor", "path"),
    ("/api/commands/%ED%B0%80", "service", "path"),
    ("/api/tickets?status=%ED%A0%80", "dashboard", "status"),
    ("/api/tickets?desk=o365&after=%C3", "agent", "after"),
    ("/api/queues?li%FFmit=1", "dashboard", "li\ufffdmit"),
    ("/api/commands/x?sender=%ED%A0%80", "auditor", "sender"),
])
def test_a_url_that_is_not_utf8_text_is_refused_naming_the_part(
    rig: HttpRig, path: str, role: str, field: str
) -> None:
    refused = rig.get(path, role=role)
    assert refused.status_code == 400
    assert (refused.json()["field"], refused.json()["rule"]) == (field, "unicode_text")
