"""The read API: ticket list (filters, stable pages), one ticket, queues, figures, audit, ETags."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.unit.http_rig import CONTACT, HttpRig, make_rig
from tickets.domain.actor import Actor
from tickets.domain.catalogue import Catalogue

AGENT = Actor("agent", "a-7")


@pytest.fixture
def rig(catalogue: Catalogue, tmp_path: Path) -> HttpRig:
    return make_rig(catalogue, tmp_path)


def numbers(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [t["number"] for t in response.json()["tickets"]]


def test_the_list_shows_each_ticket_with_its_sla_state_from_the_read_models(rig: HttpRig) -> None:
    number = rig.open("o365", "A", title="Mail is down")
    body = rig.get("/api/tickets").json()
    assert body["position"] == 1 and body["next"] is None and body["as_of"] == "2026-11-16T09:00:00Z"
    [ticket] = body["tickets"]
    assert ticket["number"] == number and ticket["title"] == "Mail is down"
    assert (ticket["desk"], ticket["severity"], ticket["status"], ticket["plan"]) == (
        "o365", "A", "new", "enterprise")
    assert ticket["sla_state"] == "running"
    assert (ticket["at_risk_at"], ticket["due"]) == ("2026-11-16T09:45:00Z", "2026-11-16T10:00:00Z")
    rig.clock.advance(timedelta(minutes=50))
    assert rig.get("/api/tickets").json()["tickets"][0]["sla_state"] == "at_risk"
    rig.clock.advance(timedelta(minutes=10))
    assert rig.get("/api/tickets").json()["tickets"][0]["sla_state"] == "breached"


def test_the_list_filters_by_desk_status_severity_sla_state_and_due_time(rig: HttpRig) -> None:
    urgent = rig.open("o365", "A")
    calm = rig.open("o365", "C")  # no target for C: no SLA
    office = rig.open("nl-vendor", "normal")
    rig.desk.respond(office, actor=AGENT)
    rig.feed.catch_up()
    assert numbers(rig.get("/api/tickets?desk=nl-vendor")) == [office]
    assert sorted(numbers(rig.get("/api/tickets?desk=o365"))) == sorted([urgent, calm])
    assert numbers(rig.get("/api/tickets?status=open")) == [office]
    assert sorted(numbers(rig.get("/api/tickets?status=new&status=open"))) == sorted([urgent, calm, office])
    assert sorted(numbers(rig.get("/api/tickets?status=new,open"))) == sorted([urgent, calm, office])
    assert numbers(rig.get("/api/tickets?severity=C")) == [calm]
    assert numbers(rig.get("/api/tickets?sla_state=met")) == [office]
    assert numbers(rig.get("/api/tickets?sla_state=none")) == [calm]
    assert numbers(rig.get("/api/tickets?sla_state=running")) == [urgent]
    assert numbers(rig.get("/api/tickets?due_before=2026-11-16T10:30:00Z")) == [urgent]
    assert numbers(rig.get("/api/tickets?due_before=2026-11-16T10:00:00Z")) == []
    rig.clock.advance(timedelta(hours=2))
    assert numbers(rig.get("/api/tickets?sla_state=breached")) == [urgent]
    assert numbers(rig.get("/api/tickets?sla_state=breached,at_risk&desk=o365")) == [urgent]


def test_pages_follow_each_other_without_gaps_or_repeats_while_tickets_arrive(rig: HttpRig) -> None:
    for i in range(9):
        rig.clock.advance(timedelta(minutes=5))
        rig.open("o365", "A" if i % 3 else "B", project=False)
        rig.open("o365", "C", project=False)  # no SLA: after every ticket with a due time
    rig.feed.catch_up()
    everything = numbers(rig.get("/api/tickets?limit=500"))
    seen: list[str] = []
    after: str | None = None
    while True:
        body = rig.get("/api/tickets", params={"limit": 4, **({"after": after} if after else {})}).json()
        seen += [t["number"] for t in body["tickets"]]
        if len(seen) == 8:
            rig.open("o365", "A")  # arrives between two pages: the keyset does not shift
        after = body["next"]
        if after is None:
            break
    now = numbers(rig.get("/api/tickets?limit=500"))
    assert len(everything) == 18 and len(now) == 19
    assert seen == now and len(set(seen)) == 19  # every ticket once, in order, the late one too
    assert [n for n in seen if n in everything] == everything
    dues = [t["due"] for t in rig.get("/api/tickets?limit=500").json()["tickets"]]
    timed = [d for d in dues if d is not None]
    assert timed == sorted(timed) and dues[:len(timed)] == timed  # earliest due first, then the rest


@pytest.mark.parametrize(("query", "field", "rule"), [
    ("desk=nowhere", "desk", "one_of"), ("status=pending", "status", "one_of"),
    ("sla_state=late", "sla_state", "one_of"), ("severity=Z9", "severity", "one_of"),
    ("due_before=tomorrow", "due_before", "iso8601"), ("due_before=2026-11-16T10:00", "due_before",
                                                         "aware_time"),
    ("limit=0", "limit", "greater_than_equal"), ("limit=501", "limit", "less_than_equal"),
    ("limit=ten", "limit", "int_parsing"), ("after=not-a-cursor", "after", "cursor"),
    ("after=MHx8", "after", "cursor"),
])
def test_bad_list_parameters_are_400s_naming_field_and_rule(
    rig: HttpRig, query: str, field: str, rule: str
) -> None:
    response = rig.get(f"/api/tickets?{query}")
    assert response.status_code == 400, response.text
    body = response.json()
    assert (body["error"], body["field"], body["rule"]) == ("validation", field, rule)


def test_a_ticket_comes_with_its_sla_timeline_by_number_or_id(rig: HttpRig) -> None:
    number = rig.open("nl-vendor", "normal")
    rig.clock.advance(timedelta(hours=1))
    by_number = rig.get(f"/api/tickets/{number.lower()}")
    assert by_number.status_code == 200
    ticket = by_number.json()
    assert rig.get(f"/api/tickets/{ticket['id']}").json()["number"] == number
    [clock] = ticket["sla"]
    assert (clock["kind"], clock["state"], clock["due"]) == (
        "first_response", "running", "2026-11-17T09:00:00Z")  # one working day, 10:00 local + 8 h
    assert clock["timeline"] == [{"start": "2026-11-16T09:00:00Z", "end": "2026-11-16T10:00:00Z",
                                  "counted": True, "reason": "open"}]
    reasons = [(span["reason"], span["counted"]) for span in clock["outlook"]]
    assert reasons == [("open", True), ("outside hours", False), ("open", True)]
    assert clock["outlook"][0]["start"] == "2026-11-16T10:00:00Z"
    assert clock["outlook"][-1]["end"] == clock["due"]
    assert ticket["computed_at"] == "2026-11-16T10:00:00Z" and ticket["policy"]["desk"] == "nl-vendor"


@pytest.mark.parametrize(("ref", "status", "rule"), [
    ("MSO-0000AA", 404, "known_ticket"), ("0c7d3f4e-2b1a-4c9d-8e7f-6a5b4c3d2e1f", 404, "known_ticket"),
    ("not a ticket", 400, "ticket_reference"),
])
def test_an_unknown_or_malformed_ticket_is_a_clear_4xx(
    rig: HttpRig, ref: str, status: int, rule: str
) -> None:
    for path in (f"/api/tickets/{ref}", f"/api/tickets/{ref}/audit"):
        response = rig.get(path, role="auditor")
        assert response.status_code == status, response.text
        assert (response.json()["field"], response.json()["rule"]) == ("ticket", rule)


def test_personal_data_is_masked_for_dashboards_and_shown_to_agents_and_auditors(rig: HttpRig) -> None:
    number = rig.open("o365", "A")
    shown = {role: rig.get(f"/api/tickets/{number}", role=role).json()["fields"]
             for role in ("dashboard", "agent", "auditor")}
    assert shown["dashboard"] == {"contact_name": "***", "contact_email": "***",
                                  "contact_phone": "***", "product": "mail"}
    assert shown["agent"] == shown["auditor"] == {**CONTACT, "product": "mail"}
    listed = rig.get("/api/tickets").text
    assert "anna" not in listed.lower() and "123 4567" not in listed


def test_the_audit_trail_is_for_auditors_with_personal_data_and_verified_hashes(rig: HttpRig) -> None:
    number = rig.open("o365", "A")
    for _ in range(3):
        rig.clock.advance(timedelta(minutes=1))
        rig.desk.respond(number, actor=AGENT)
    rig.feed.catch_up()
    body = rig.get(f"/api/tickets/{number}/audit", role="auditor").json()
    assert [e["version"] for e in body["entries"]] == [1, 2, 3, 4]
    assert all(e["verified"] for e in body["entries"])
    assert body["entries"][0]["payload"]["fields"]["contact_email"] == "anna@example.nl"
    assert body["entries"][1]["actor"] == "agent:a-7" and body["next"] is None
    first = rig.get(f"/api/tickets/{number}/audit?limit=3", role="auditor").json()
    assert [e["version"] for e in first["entries"]] == [1, 2, 3] and first["next"] == 3
    rest = rig.get(f"/api/tickets/{number}/audit?limit=3&after=3", role="auditor").json()
    assert [e["version"] for e in rest["entries"]] == [4] and rest["next"] is None
    assert rig.get(f"/api/tickets/{number}/audit", role="agent").status_code == 403


def test_the_queues_show_a_breached_ticket_at_its_level(rig: HttpRig) -> None:
    number = rig.open("o365", "A")
    assert rig.get("/api/queues").json()["levels"]["front_line"] == []
    rig.clock.advance(timedelta(minutes=70))
    [entry] = rig.get("/api/queues").json()["levels"]["front_line"]
    assert (entry["number"], entry["state"], entry["kind"]) == (number, "breached", "first_response")
    assert entry["due"] == "2026-11-16T10:00:00Z"
    assert rig.get("/api/queues?limit=0").status_code == 400


def test_the_dashboard_counts_open_tickets_and_sla_states_per_desk_and_severity(rig: HttpRig) -> None:
    rig.open("o365", "A")
    rig.open("o365", "A")
    office = rig.open("nl-vendor", "normal")
    rig.clock.advance(timedelta(minutes=30))
    rig.desk.respond(office, actor=AGENT)
    rig.feed.catch_up()
    rig.clock.advance(timedelta(hours=1))
    body = rig.get("/api/dashboard").json()
    assert body["as_of"] == "2026-11-16T10:30:00Z"
    assert {(o["desk"], o["severity"], o["status"], o["tickets"]) for o in body["open"]} == {
        ("o365", "A", "new", 2), ("nl-vendor", "normal", "open", 1)}
    sla = {(s["desk"], s["severity"]): s for s in body["sla"]}
    assert sla[("o365", "A")]["breached"] == 2 and sla[("nl-vendor", "normal")]["met"] == 1
    [first] = body["first_response"]
    assert (first["desk"], first["tickets"], first["p50"]) == ("nl-vendor", 1, 1800.0)


def test_a_poll_with_the_etag_costs_a_304_until_the_read_models_or_the_minute_move(rig: HttpRig) -> None:
    rig.open("o365", "A")
    for path in ("/api/tickets", "/api/dashboard", "/api/queues"):
        first = rig.get(path)
        etag = first.headers["etag"]
        again = rig.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
        assert rig.get(path, headers={"If-None-Match": f'"other", {etag}'}).status_code == 304
        assert rig.get(path, headers={"If-None-Match": '"other"'}).status_code == 200
    etag = rig.get("/api/tickets").headers["etag"]
    assert rig.get("/api/tickets?limit=5").headers["etag"] != etag  # the query is part of it
    assert rig.get("/api/tickets", role="agent").headers["etag"] != etag  # so is the role
    rig.clock.advance(timedelta(seconds=30))
    assert rig.get("/api/tickets", headers={"If-None-Match": etag}).status_code == 304
    rig.clock.advance(timedelta(seconds=30))  # a new minute: SLA states may have moved
    moved = rig.get("/api/tickets", headers={"If-None-Match": etag})
    assert moved.status_code == 200
    etag = moved.headers["etag"]
    rig.open("o365", "B")  # a new event, projected
    assert rig.get("/api/tickets", headers={"If-None-Match": etag}).status_code == 200
