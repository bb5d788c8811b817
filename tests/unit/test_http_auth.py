"""Tokens and roles on every route: 401 without a valid token, 403 outside the role, refusals logged."""

from __future__ import annotations

from pathlib import Path

import pytest
from structlog.testing import capture_logs

from tests.unit.http_rig import HttpRig, make_rig
from tickets.domain.catalogue import Catalogue

NUMBER = "MSO-0000AA"
API_ROUTES = [
    ("GET", "/api/tickets"), ("GET", f"/api/tickets/{NUMBER}"), ("GET", "/api/queues"),
    ("GET", "/api/dashboard"), ("GET", "/api/stream"), ("GET", f"/api/tickets/{NUMBER}/audit"),
    ("POST", "/api/commands"), ("GET", "/api/commands/some-command"),
]


@pytest.fixture
def rig(catalogue: Catalogue, tmp_path: Path) -> HttpRig:
    return make_rig(catalogue, tmp_path)


@pytest.mark.parametrize(("method", "path"), API_ROUTES)
def test_every_api_route_refuses_a_request_without_a_token(rig: HttpRig, method: str, path: str) -> None:
    response = rig.client.request(method, path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {"error": "unauthenticated", "field": "authorization",
                               "rule": "bearer_token_required",
                               "message": "send a token as Authorization: Bearer <token>"}


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "tkt_abc", "Token tkt_x"])
def test_a_malformed_authorization_header_is_a_401(rig: HttpRig, header: str) -> None:
    response = rig.client.get("/api/tickets", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["field"] == "authorization"


@pytest.mark.parametrize("token", ["tkt_not-a-real-token", "something-else", "tkt_" + "x" * 500])
def test_an_unknown_token_is_a_401(rig: HttpRig, token: str) -> None:
    response = rig.client.get("/api/dashboard", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["rule"] == "known_token"


def test_a_revoked_token_is_a_401_from_the_next_request_on(rig: HttpRig) -> None:
    assert rig.get("/api/dashboard").status_code == 200
    rig.ctx.tokens.revoke("dashboard-1")
    response = rig.get("/api/dashboard")
    assert response.status_code == 401
    assert response.json()["rule"] == "live_token"


#: (role, method, path) → allowed; everything not listed for a role is refused with 403.
ALLOWED = {
    "dashboard": {"/api/tickets", f"/api/tickets/{NUMBER}", "/api/queues", "/api/dashboard"},
    "agent": {"/api/tickets", f"/api/tickets/{NUMBER}", "/api/queues", "/api/dashboard",
              "POST /api/commands", "/api/commands/some-command"},
    "service": {"POST /api/commands", "/api/commands/some-command"},
    "auditor": {"/api/tickets", f"/api/tickets/{NUMBER}", "/api/queues", "/api/dashboard",
                f"/api/tickets/{NUMBER}/audit", "/api/commands/some-command"},
}


@pytest.mark.parametrize("role", sorted(ALLOWED))
@pytest.mark.parametrize(("method", "path"), [r for r in API_ROUTES if r[1] != "/api/stream"])
def test_each_role_reaches_its_routes_and_is_refused_the_others(
    rig: HttpRig, role: str, method: str, path: str
) -> None:
    key = f"POST {path}" if method == "POST" else path
    response = rig.client.request(method, path, headers=rig.auth(role), json={})
    if key in ALLOWED[role]:
        assert response.status_code not in (401, 403), response.text  # 200, or 404/400 for the data
    else:
        assert response.status_code == 403
        body = response.json()
        assert body["error"] == "forbidden" and body["field"] == "role"
        assert body["rule"].startswith("role_may_")


def test_a_refusal_is_logged_without_the_token(rig: HttpRig) -> None:
    with capture_logs() as logs:
        rig.client.get("/api/tickets/MSO-0000AA/audit", headers=rig.auth("dashboard"))
        rig.client.get("/api/tickets", headers={"Authorization": "Bearer tkt_secret-looking-value"})
        rig.ctx.tokens.revoke("agent-1")
        rig.client.get("/api/tickets", headers=rig.auth("agent"))
    refusals = [entry for entry in logs if entry["event"] == "http_refused"]
    assert [(r["status"], r["reason"]) for r in refusals] == [
        (403, "role_may_audit"), (401, "known_token"), (401, "live_token")]
    assert refusals[0]["token_name"] == "dashboard-1" and refusals[0]["role"] == "dashboard"
    assert refusals[0]["route"] == "/api/tickets/MSO-0000AA/audit"
    text = repr(logs)
    for secret in (*rig.tokens.values(), "tkt_secret-looking-value"):
        assert secret not in text


@pytest.mark.parametrize("path", ["/", "/static/app.js", "/static/timeline.js", "/static/style.css",
                                  "/openapi.json", "/docs", "/metrics"])
def test_the_page_the_schema_and_the_metrics_need_no_token(rig: HttpRig, path: str) -> None:
    assert rig.client.get(path).status_code == 200


def test_the_openapi_schema_lists_every_api_route_with_bearer_auth(rig: HttpRig) -> None:
    schema = rig.client.get("/openapi.json").json()
    assert {"/api/tickets", "/api/tickets/{ref}", "/api/tickets/{ref}/audit", "/api/queues",
            "/api/dashboard", "/api/stream", "/api/commands", "/api/commands/{command_id}"} <= set(
        schema["paths"])
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
