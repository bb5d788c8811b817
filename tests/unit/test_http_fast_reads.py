"""Polls answered before the router (``FastReads``) answer exactly as the routes do, and refuse alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.http_rig import HttpRig, make_rig
from tickets.domain.catalogue import Catalogue
from tickets.http.positions import BodyCache


@pytest.fixture
def rig(catalogue: Catalogue, tmp_path: Path) -> HttpRig:
    return make_rig(catalogue, tmp_path)


def kept(rig: HttpRig) -> BodyCache:
    bodies: BodyCache = rig.client.app.state.bodies  # type: ignore[attr-defined]
    return bodies


@pytest.mark.parametrize("path", ["/api/dashboard", "/api/queues", "/api/tickets?desk=o365",
                                  "/api/tickets/{number}", "/api/tickets/{number}/audit"])
def test_a_kept_body_is_served_again_byte_for_byte_with_the_same_etag(rig: HttpRig, path: str) -> None:
    number = rig.open("o365", "A")
    url = path.format(number=number)
    first = rig.get(url, role="auditor")
    assert kept(rig).get(first.headers["etag"]) == first.content  # built once, kept
    again = rig.get(url, role="auditor")
    assert again.status_code == 200 and again.content == first.content
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["content-type"] == "application/json"
    assert rig.get(url, role="auditor", headers={"If-None-Match": first.headers["etag"]}).status_code == 304


def test_a_kept_body_is_not_served_to_a_revoked_token_or_another_role(rig: HttpRig) -> None:
    number = rig.open("o365", "A")
    audit = rig.get(f"/api/tickets/{number}/audit", role="auditor")
    etag = audit.headers["etag"]
    refused = rig.get(f"/api/tickets/{number}/audit", role="dashboard", headers={"If-None-Match": etag})
    assert refused.status_code == 403
    rig.ctx.tokens.revoke("auditor-1")
    assert rig.get(f"/api/tickets/{number}/audit", role="auditor").status_code == 401
    assert rig.get(f"/api/tickets/{number}/audit", role="auditor",
                   headers={"If-None-Match": etag}).status_code == 401
    assert rig.client.get("/api/dashboard", headers={"Authorization": "Basic abc"}).status_code == 401


def test_personal_data_kept_for_one_role_is_not_served_to_another(rig: HttpRig) -> None:
    number = rig.open("o365", "A")
    assert "anna@example.nl" in rig.get(f"/api/tickets/{number}", role="agent").text
    assert "anna@example.nl" not in rig.get(f"/api/tickets/{number}", role="dashboard").text
    assert "anna@example.nl" in rig.get(f"/api/tickets/{number}", role="agent").text


def test_a_bad_query_is_refused_even_when_asked_again(rig: HttpRig) -> None:
    for _ in range(2):
        response = rig.get("/api/tickets?limit=0")
        assert response.status_code == 400 and response.json()["field"] == "limit"


def test_polls_answered_early_are_counted_under_their_route(rig: HttpRig) -> None:
    rig.open("o365", "A")
    etag = rig.get("/api/dashboard").headers["etag"]
    for _ in range(3):
        rig.get("/api/dashboard", headers={"If-None-Match": etag})
    text = rig.client.get("/metrics").text
    assert 'tickets_http_requests_total{method="GET",route="/api/dashboard",status="304"}' in text
