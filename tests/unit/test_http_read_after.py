"""Read your writes over HTTP: a write's ``at_least`` holds a read until the read models show it."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.unit.http_rig import HttpRig, make_rig
from tickets.domain.catalogue import Catalogue
from tickets.http.read_after import NotAWrite, mark_of, parse_mark


@pytest.fixture
def rig(catalogue: Catalogue, tmp_path: Path) -> HttpRig:
    made = make_rig(catalogue, tmp_path)
    made.ctx.read_wait = 0.3
    return made


def _open(rig: HttpRig, command_id: str = "open-1") -> dict[str, Any]:
    answer: dict[str, Any] = rig.command({
        "command_id": command_id, "type": "open", "desk": "o365", "requester": "c-9",
        "requester_role": "admin", "title": "Teams calls drop", "severity": "A"}).json()
    return answer


def test_an_accepted_write_answers_with_the_mark_a_read_can_wait_for(rig: HttpRig) -> None:
    answer = _open(rig)
    assert answer["at_least"] == mark_of(answer["ticket_id"], 1) == f"{answer['ticket_id']}@1"
    again = rig.command({"command_id": "open-1", "type": "open", "desk": "o365", "requester": "c-9",
                         "requester_role": "admin", "title": "Teams calls drop", "severity": "A"})
    assert again.json()["duplicate"] is True and again.json()["at_least"] == answer["at_least"]


def test_a_rejected_write_has_no_mark(rig: HttpRig) -> None:
    answer = rig.command({"command_id": "c-1", "type": "respond", "ticket": "MSO-NOSUCH"}).json()
    assert answer["status"] == "rejected" and "at_least" not in answer


def test_a_read_of_a_write_not_yet_projected_is_told_not_yet_after_the_bound(rig: HttpRig) -> None:
    answer = _open(rig)
    started = time.monotonic()
    for route in ("/api/dashboard", "/api/tickets", "/api/queues", f"/api/tickets/{answer['ticket_id']}"):
        response = rig.get(route, params={"at_least": answer["at_least"]})
        assert response.status_code == 425, route
        assert response.headers["retry-after"] == "1"
        body = response.json()
        assert (body["error"], body["field"], body["rule"]) == ("not_yet", "at_least", "read_models_hold")
        assert answer["ticket_id"] in body["message"]
    assert time.monotonic() - started >= 4 * 0.3


def test_a_read_waits_while_the_feed_catches_up_and_then_shows_the_write(rig: HttpRig) -> None:
    rig.ctx.read_wait = 5
    answer = _open(rig)
    catching_up = threading.Timer(0.2, rig.feed.catch_up)
    catching_up.start()
    response = rig.get("/api/tickets", headers={"Tickets-At-Least": answer["at_least"]})
    catching_up.join()
    assert response.status_code == 200
    assert [t["number"] for t in response.json()["tickets"]] == [answer["ticket_number"]]


def test_the_mark_does_not_change_the_answer_or_its_etag(rig: HttpRig) -> None:
    answer = _open(rig)
    rig.feed.catch_up()
    plain = rig.get("/api/tickets", params={"status": "new,open", "limit": 10})
    marked = rig.get("/api/tickets", params={"status": "new,open", "at_least": answer["at_least"],
                                             "limit": 10})
    assert marked.status_code == 200
    assert marked.headers["etag"] == plain.headers["etag"] and marked.json() == plain.json()
    older = f"{answer['ticket_id']}@1"
    assert rig.get("/api/dashboard", params={"at_least": older}).status_code == 200


@pytest.mark.parametrize("query", ["at_least={mark}", "status=new&at_least={mark}&limit=5",
                                   "at%5Fleast={mark}", "%61t_least={mark}&status=new"])
def test_a_mark_is_found_however_the_query_spells_its_name(rig: HttpRig, query: str) -> None:
    answer = _open(rig)
    response = rig.get("/api/tickets?" + query.format(mark=answer["at_least"]))
    assert response.status_code == 425 and response.json()["field"] == "at_least"


def test_a_read_without_a_token_is_refused_at_once_not_held(rig: HttpRig) -> None:
    answer = _open(rig)
    started = time.monotonic()
    response = rig.client.get("/api/dashboard", params={"at_least": answer["at_least"]})
    assert response.status_code == 401 and time.monotonic() - started < 0.3


@pytest.mark.parametrize("text", ["", "MSO-123", "x@1", "@1", "{id}", "{id}@", "{id}@0", "{id}@-2",
                                  "{id}@1.5", "{id}@abc", "{id}@2147483648", "{id}@1@2"])
def test_a_malformed_mark_is_refused_naming_the_field_and_rule(rig: HttpRig, text: str) -> None:
    mark = text.format(id=uuid.uuid4())
    with pytest.raises(NotAWrite):
        parse_mark(mark)
    response = rig.get("/api/tickets", params={"at_least": mark})
    assert response.status_code == 400
    assert (response.json()["field"], response.json()["rule"]) == ("at_least", "ticket_at_version")


def test_a_well_formed_mark_names_the_ticket_and_version() -> None:
    ticket = uuid.uuid4()
    assert parse_mark(f" {ticket}@12 ") == (str(ticket), 12)
    assert parse_mark(f"{str(ticket).upper()}@1") == (str(ticket), 1)


def test_serve_answers_the_last_body_while_a_new_one_is_built_but_not_to_a_read_of_a_write(
    rig: HttpRig,
) -> None:
    rig.ctx.answer_while_building = True
    rig.ctx.read_wait = 5
    with rig.client:  # one event loop for the client's life, as under uvicorn
        first = rig.get("/api/dashboard")
        answer = _open(rig)
        rig.feed.catch_up()
        meanwhile = rig.get("/api/dashboard")
        assert (meanwhile.headers["etag"], meanwhile.json()) == (first.headers["etag"], first.json())
        polled = rig.get("/api/dashboard", headers={"If-None-Match": first.headers["etag"]})
        assert polled.status_code == 304 or polled.headers["etag"] != first.headers["etag"]  # built
        fresh = rig.get("/api/dashboard", params={"at_least": answer["at_least"]})
        assert fresh.headers["etag"] != first.headers["etag"]
        assert fresh.json()["position"] > first.json()["position"]
        deadline = time.monotonic() + 5
        while rig.get("/api/dashboard").headers["etag"] != fresh.headers["etag"]:
            assert time.monotonic() < deadline, "the new body was never built"
            time.sleep(0.02)
