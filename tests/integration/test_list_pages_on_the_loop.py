"""Ticket-list pages on PostgreSQL answered before the router, on the event loop's connection.

Each answer of the fast path (the route's own page reads made to fail, so only the loop could have
answered) is held equal to the route's answer to the same request (the fast path turned off, the
kept bodies emptied): the same status, ETag and body, for every role, for a token of one desk and
one of every desk, for valid queries and for values the route refuses. The facts a page shows
are read on PostgreSQL as they were written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.servers import PostgresDatabase
from tests.unit.http_rig import ROLES, WEBFORM, HttpRig, make_rig
from tests.unit.test_http_desk_scopes import WEB_FIELDS
from tickets.domain.catalogue import Catalogue
from tickets.domain.scope import EVERY_DESK, DeskScope
from tickets.http import fast_reads, listed_json, read_routes
from tickets.http.positions import BodyCache
from tickets.http.ticket_facts import FROM_FACTS, describe

pytestmark = pytest.mark.integration

VALID = ["", "limit=1", "limit=500", "limit=007", "status=new,open", "status=new&status=closed",
         "severity=P1", "sla_state=breached,at_risk", "sla_state=running&severity=P2", "desk=web",
         "desk=zoom", "desk=web,zoom&status=new", "due_before=2026-11-30T00:00:00Z", "unknown=1",
         "due_before=2026-11-17T09:00:00%2B01:00", "status="]
#: Valid, but left to the route: a value given twice, empty or with spaces is not plainly valid.
LEFT_TO_ROUTE = ["limit=5&limit=6", "after=&limit=3", "limit=%205"]
REFUSED = ["limit=0", "limit=501", "limit=abc", "limit=", "status=bogus",
           "severity=Q9", "sla_state=late", "due_before=yesterday", "due_before=2026-11-30T00:00:00",
           "after=bogus", "after=" + "x" * 600, "desk=nowhere", "due_before="]


@pytest.fixture
def rig(catalogue: Catalogue, tmp_path: Path, pg_database: PostgresDatabase) -> Iterator[HttpRig]:
    rig = make_rig(catalogue, tmp_path, store_url=pg_database.dsn)
    for role in ROLES:
        rig.tokens[f"{role}@web"] = rig.ctx.tokens.create(f"{role}-web", role,
                                                          DeskScope(frozenset({"web"})))
        rig.tokens[f"{role}@all"] = rig.ctx.tokens.create(f"{role}-all", role, EVERY_DESK)
    rig.desk.add_editor("web", "1234", "editor-1")
    for n in range(3):
        rig.desk.open(desk="web", requester="editor-1", requester_role="editor", title=f"Editor {n}",
                      fields=WEB_FIELDS,
                      actor=WEBFORM)
        rig.desk.open(desk="zoom", requester=f"zoomreq-{n}", requester_role="admin",
                      title=f"Zoom outage {n}", actor=WEBFORM, plan="premier", severity=("P1", "P2")[n % 2],
                      fields={"contact_name": "Zelda Zoomwright", "contact_email": "zelda@acme.example"})
        rig.open("o365", "A", title=f"Mail {n}")
        rig.clock.advance(timedelta(hours=7))
    rig.feed.catch_up()
    yield rig


def _answer(rig: HttpRig, path: str, key: str, monkeypatch: pytest.MonkeyPatch, *, fast: bool,
            route_may_read: bool = False, **headers: str) -> tuple[int, str | None, Any]:
    """(status, ETag, body) of ``path``: with ``fast``, the route's own page reads fail unless
    ``route_may_read``; without, the fast path is off. The kept bodies and listed tickets are
    emptied first, so each way builds its own."""
    rig.client.app.state.bodies = BodyCache()  # type: ignore[attr-defined]
    listed_json.forget()
    with monkeypatch.context() as patch:
        if fast and not route_may_read:
            def no_route_reads(*args: Any) -> Any:
                raise AssertionError("the route read a page")
            patch.setattr(read_routes, "page_reads", no_route_reads)
        else:
            patch.setattr(fast_reads, "pool_for", lambda *args: None)
        answer = rig.get(path, key, headers=headers)
    body = answer.json() if answer.status_code != 304 else None
    return answer.status_code, answer.headers.get("etag"), body


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("desks", ["web", "all"])
def test_a_page_on_the_loop_is_the_routes_page_for_every_role_desk_and_query(
    rig: HttpRig, monkeypatch: pytest.MonkeyPatch, role: str, desks: str,
) -> None:
    key = f"{role}@{desks}"
    for query in [*VALID, *REFUSED, *LEFT_TO_ROUTE]:
        path = f"/api/tickets?{query}"
        fast = _answer(rig, path, key, monkeypatch, fast=True,
                       route_may_read=query not in VALID)  # a refusal is the route's
        assert fast == _answer(rig, path, key, monkeypatch, fast=False), query
        if role == "service":
            assert fast[0] == 403
        elif query in REFUSED or (desks == "web" and ("zoom" in query or "severity=P" in query)):
            assert fast[0] in (400, 404, 422) and fast[2]["field"], query
        else:
            assert fast[0] == 200, query
    if role != "service":  # some answers hold tickets, and a web token's none of Zoom's
        listed = _answer(rig, "/api/tickets?limit=500", key, monkeypatch, fast=True)[2]["tickets"]
        assert {t["desk"] for t in listed} == ({"web"} if desks == "web" else {"web", "zoom", "o365"})


@pytest.mark.parametrize("limit", [1, 2, 4])
def test_pages_on_the_loop_follow_the_cursor_as_the_routes_pages_do(
    rig: HttpRig, monkeypatch: pytest.MonkeyPatch, limit: int,
) -> None:
    seen: list[str] = []
    path: str | None = f"/api/tickets?limit={limit}"
    while path is not None:
        fast = _answer(rig, path, "agent@all", monkeypatch, fast=True)
        assert fast == _answer(rig, path, "agent@all", monkeypatch, fast=False), path
        seen += [t["id"] for t in fast[2]["tickets"]]
        path = f"/api/tickets?limit={limit}&after={fast[2]['next']}" if fast[2]["next"] else None
    assert len(seen) == len(set(seen)) == 9


def test_a_page_on_the_loop_answers_304_to_its_own_etag(rig: HttpRig, monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    status, etag, _ = _answer(rig, "/api/tickets?severity=P1", "agent@all", monkeypatch, fast=True)
    assert status == 200 and etag
    again = _answer(rig, "/api/tickets?severity=P1", "agent@all", monkeypatch, fast=True,
                    **{"If-None-Match": etag})
    assert again == (304, etag, None)


def test_a_database_error_on_the_loop_leaves_the_page_to_the_route(
    rig: HttpRig, monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def failing(*args: Any) -> Any:
        raise psycopg.OperationalError("connection lost")

    monkeypatch.setattr(fast_reads, "run_steps_async", failing)
    rig.client.app.state.bodies = BodyCache()  # type: ignore[attr-defined]
    answer = rig.get("/api/tickets?status=new", "agent@all")
    assert answer.status_code == 200 and len(answer.json()["tickets"]) == 9


def test_a_pages_facts_on_postgresql_are_the_facts_and_title_written(rig: HttpRig) -> None:
    rows = rig.store.read("SELECT f.ticket_id, f.facts, a.payload FROM dashboard_facts f "
                          "JOIN audit_trail a ON a.ticket_id = f.ticket_id AND a.version = 1")
    written = {ticket_id: {**{k: json.loads(facts)[k] for k in FROM_FACTS},
                           "title": json.loads(payload)["title"]}
               for ticket_id, facts, payload in rows}
    assert len(written) == 9 and all(v["number"] and v["opened_at"] for v in written.values())
    assert describe(rig.store, [*written, "no-such-ticket"]) == written
