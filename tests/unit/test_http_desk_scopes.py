"""Desk scopes over HTTP: a token sees and acts on its own desks' tickets only, on every route.

The rig holds one Website ticket and one Zoom ticket; each role has a token for desk web and one
for every desk. What a web token is answered must never hold the Zoom ticket's number, id,
title, requester or contact details, nor any figure of desk zoom; the every-desk token's answers
do hold them (so that each check could fail).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.unit.http_rig import ROLES, WEBFORM, HttpRig, make_rig
from tickets.domain.actor import Actor
from tickets.domain.catalogue import Catalogue
from tickets.domain.scope import EVERY_DESK, DeskScope
from tickets.http.stream import changes
from tickets.http.tokens import token_hash

WEB = DeskScope(frozenset({"web"}))
ZOOM_SECRETS = ("Zoom outage at Acme", "zoomreq-4711", "Zelda Zoomwright", "zelda@acme.example")
READERS = ("agent", "auditor", "dashboard")
WEB_FIELDS = {"site_id": "1234", "contact_name": "Wim Web", "contact_phone": "+32 2 123 45 67",
              "contact_email": "wim@web.example", "error_message": "404", "url": "https://web.example/"}


@dataclass(frozen=True)
class Tickets:
    web: str
    web_id: str
    zoom: str
    zoom_id: str


@pytest.fixture
def rig(catalogue: Catalogue, tmp_path: Path) -> HttpRig:
    rig = make_rig(catalogue, tmp_path)
    for role in ROLES:
        rig.tokens[f"{role}@web"] = rig.ctx.tokens.create(f"{role}-web", role, WEB)
        rig.tokens[f"{role}@all"] = rig.ctx.tokens.create(f"{role}-all", role, EVERY_DESK)
    return rig


def open_web(rig: HttpRig, title: str = "Page editor broken") -> Any:
    if "editor-1" not in rig.desk.editors("web", "1234"):
        rig.desk.add_editor("web", "1234", "editor-1")
    return rig.desk.open(desk="web", requester="editor-1", requester_role="editor", title=title,
                         fields=WEB_FIELDS, actor=WEBFORM)


@pytest.fixture
def tickets(rig: HttpRig) -> Tickets:
    web = open_web(rig)
    zoom = rig.desk.open(desk="zoom", requester="zoomreq-4711", requester_role="admin",
                         title="Zoom outage at Acme", actor=WEBFORM, plan="premier", severity="P1",
                         fields={"contact_name": "Zelda Zoomwright", "contact_email": "zelda@acme.example"})
    rig.feed.catch_up()
    rig.clock.advance(timedelta(days=3))  # both SLA clocks at risk or breached: in the queues
    return Tickets(web.number, str(web.ticket_id), zoom.number, str(zoom.ticket_id))


def read_paths(t: Tickets) -> list[str]:
    return ["/api/tickets", "/api/tickets?limit=500", "/api/tickets?status=new,open",
            "/api/queues", "/api/dashboard", f"/api/tickets/{t.zoom}", f"/api/tickets/{t.zoom_id}",
            f"/api/tickets/{t.zoom.lower()}", f"/api/tickets/{t.zoom}/audit",
            f"/api/tickets/{t.zoom_id}/audit?after=0", "/api/tickets?desk=zoom",
            f"/api/tickets/{t.web}", f"/api/tickets/{t.web}/audit"]


def zoom_traces(t: Tickets) -> tuple[str, ...]:
    return (t.zoom, t.zoom_id, *ZOOM_SECRETS, '"desk":"zoom"', 'desk="zoom"')


def answered(rig: HttpRig, key: str, paths: list[str], t: Tickets) -> bytes:
    """Every answer's bytes, each asked twice (the second may come from the kept bodies).

    A refusal says the reference it was asked (``no ticket ZOOM-...``), as it does for any
    reference: that echo is cut out, the rest must not hold the ticket.
    """
    found = b""
    for path in paths:
        echoed = [ref.encode() for ref in (t.zoom, t.zoom_id, t.zoom.lower()) if ref in path]
        for _ in range(2):
            body = rig.get(path, key).content
            for ref in echoed if key.endswith("@web") else ():
                body = body.replace(ref, b"REF")
            found += body
    return found


@pytest.mark.parametrize("role", ROLES)
def test_a_web_token_never_sees_a_zoom_tickets_number_title_requester_or_count(
    rig: HttpRig, tickets: Tickets, role: str,
) -> None:
    paths = read_paths(tickets)
    everything = answered(rig, f"{role}@all", paths[:6], tickets)  # first: its bodies are kept for reuse
    everything += rig.client.get("/metrics", headers=rig.auth(f"{role}@all")).content
    web_only = answered(rig, f"{role}@web", paths, tickets)
    web_only += rig.client.get("/metrics", headers=rig.auth(f"{role}@web")).content
    for trace in zoom_traces(tickets):
        assert trace.encode() not in web_only, trace
    if role in READERS:  # the same routes do show Zoom to a token for every desk
        assert tickets.zoom.encode() in everything and b'"desk":"zoom"' in everything
        assert tickets.web.encode() in web_only
        assert b'desk="zoom"' in everything
    if role == "agent":
        assert b"Zelda Zoomwright" in everything


@pytest.mark.parametrize("role", READERS)
def test_another_desks_ticket_is_answered_exactly_as_one_that_does_not_exist(
    rig: HttpRig, tickets: Tickets, role: str,
) -> None:
    unknown_number = tickets.zoom[:-1] + ("X" if tickets.zoom[-1] != "X" else "Y")
    cases = [(tickets.zoom, unknown_number, ""), (tickets.zoom_id, "0" * 8 + tickets.zoom_id[8:], "")]
    if role == "auditor":
        cases += [(tickets.zoom, unknown_number, "/audit"),
                  (tickets.zoom_id, "0" * 8 + tickets.zoom_id[8:], "/audit")]
    for hidden, unknown, tail in cases:
        hid = rig.get(f"/api/tickets/{hidden}{tail}", f"{role}@web")
        none = rig.get(f"/api/tickets/{unknown}{tail}", f"{role}@web")
        seen = rig.get(f"/api/tickets/{hidden}{tail}", f"{role}@all")
        assert seen.status_code == 200
        assert hid.status_code == none.status_code == 404
        assert hid.content.replace(hidden.encode(), b"REF") == none.content.replace(unknown.encode(), b"REF")
        assert hid.headers.keys() == none.headers.keys()


@pytest.mark.parametrize("role", READERS)
def test_lists_and_figures_hold_the_tokens_desks_only(rig: HttpRig, tickets: Tickets, role: str) -> None:
    listed = rig.get("/api/tickets", f"{role}@web").json()["tickets"]
    assert [t["number"] for t in listed] == [tickets.web]
    refused = rig.get("/api/tickets?desk=zoom", f"{role}@web")
    unknown = rig.get("/api/tickets?desk=nowhere", f"{role}@web")
    assert refused.status_code == unknown.status_code == 400
    assert refused.json()["message"].replace("zoom", "X") == unknown.json()["message"].replace("nowhere", "X")
    assert rig.get("/api/tickets?desk=web", f"{role}@web").json()["tickets"] == listed
    mine, every = (rig.get("/api/dashboard", f"{role}@{s}").json() for s in ("web", "all"))
    for part in ("open", "sla", "first_response"):
        assert {row["desk"] for row in mine[part]} <= {"web"}
        assert mine[part] == [row for row in every[part] if row["desk"] == "web"]
    assert {row["desk"] for row in every["open"]} == {"web", "zoom"}
    queues = rig.get("/api/queues", f"{role}@web").json()["levels"]
    every_queue = rig.get("/api/queues", f"{role}@all").json()["levels"]
    assert {e["desk"] for entries in queues.values() for e in entries} <= {"web"}
    assert any(e["desk"] == "zoom" for entries in every_queue.values() for e in entries)


def test_metrics_carry_desk_labels_only_for_a_reader_and_only_its_desks(
    rig: HttpRig, tickets: Tickets,
) -> None:
    anonymous = rig.client.get("/metrics").text
    assert "desk=" not in anonymous and "tickets_projection_position" in anonymous
    assert "desk=" not in rig.client.get("/metrics", headers=rig.auth("service@all")).text
    web = rig.client.get("/metrics", headers=rig.auth("dashboard@web")).text
    assert 'desk="web"' in web and 'desk="zoom"' not in web


@pytest.mark.parametrize("role", ("service", "agent"))
def test_a_writer_acts_only_on_its_desks_tickets(rig: HttpRig, tickets: Tickets, role: str) -> None:
    for ref in (tickets.zoom, tickets.zoom_id):
        unknown = "0" * 8 + ref[8:] if ref == tickets.zoom_id else ref[:-1] + "Q"
        hidden = rig.command({"command_id": "r-1", "type": "respond", "ticket": ref}, f"{role}@web")
        none = rig.command({"command_id": "r-1", "type": "respond", "ticket": unknown}, f"{role}@web")
        assert hidden.status_code == none.status_code == 404
        assert json.dumps(hidden.json()).replace(ref, "REF") == \
            json.dumps(none.json()).replace(unknown, "REF")
    closing = {"command_id": "c-1", "type": "close", "ticket": tickets.zoom, "reason": "resolved"}
    assert rig.command(closing, f"{role}@web").status_code == 404
    assert rig.desk.get(tickets.zoom).status != "closed"
    mine = rig.command({"command_id": "r-web", "type": "respond", "ticket": tickets.web}, f"{role}@web")
    assert mine.status_code == 200, mine.text
    assert rig.command({"command_id": "r-zoom", "type": "respond", "ticket": tickets.zoom},
                       f"{role}@all").status_code == 200


def test_a_service_opens_tickets_and_acts_for_requesters_only_on_its_desks(
    rig: HttpRig, tickets: Tickets,
) -> None:
    zoom = {"command_id": "o-1", "type": "open", "desk": "zoom", "requester": "r-1",
            "requester_role": "admin", "title": "Camera"}
    refused = rig.command(zoom, "service@web")
    nowhere = rig.command({**zoom, "desk": "nowhere"}, "service@web")
    assert refused.status_code == nowhere.status_code == 400
    assert refused.json()["error"]["rule"] == "desk_in_scope" and refused.json()["error"]["field"] == "desk"
    assert refused.json()["error"]["message"].replace("zoom", "X") == \
        nowhere.json()["error"]["message"].replace("nowhere", "X")
    assert "zoom" not in nowhere.text  # the refusal names the sender's desks, not the others
    for_requester = {"command_id": "rep-1", "type": "reply", "ticket": tickets.zoom,
                     "actor": str(Actor("customer", "zoomreq-4711"))}
    assert rig.command(for_requester, "service@web").status_code == 404
    assert rig.command(zoom, "service@all").status_code == 200
    rig.desk.add_editor("web", "1234", "editor-2")
    web = {"command_id": "o-2", "type": "open", "desk": "web", "requester": "editor-2",
           "requester_role": "editor", "title": "Menu gone", "fields": WEB_FIELDS}
    assert rig.command(web, "service@web").status_code == 200


def test_a_web_auditor_reads_others_answers_only_about_web_tickets(rig: HttpRig, tickets: Tickets) -> None:
    rig.command({"command_id": "z-1", "type": "respond", "ticket": tickets.zoom}, "agent@all")
    rig.command({"command_id": "w-1", "type": "respond", "ticket": tickets.web}, "agent@all")
    assert rig.get("/api/commands/z-1", "auditor@all").status_code == 200
    hidden = rig.get("/api/commands/z-1", "auditor@web")
    assert hidden.status_code == 404 and tickets.zoom not in hidden.text
    assert rig.get("/api/commands/w-1", "auditor@web").json()["ticket_number"] == tickets.web


async def _next(stream: AsyncIterator[str]) -> str:
    return await asyncio.wait_for(stream.__anext__(), timeout=5)


def test_a_web_stream_is_told_of_web_changes_and_not_of_zoom_changes(rig: HttpRig, tickets: Tickets) -> None:
    rig.ctx.stream_heartbeat = 0.2

    async def follow() -> list[str]:
        web, every = changes(rig.ctx, WEB), changes(rig.ctx, EVERY_DESK)
        seen = [await _next(web), await _next(every)]
        rig.desk.respond(tickets.zoom, actor=Actor("agent", "a-1"))
        rig.feed.catch_up()
        seen += [await _next(every), await _next(web)]  # all desks: the move; web: a heartbeat
        open_web(rig, "Second web ticket")
        rig.feed.catch_up()
        seen.append(await _next(web))
        rig.ctx.closing.set()
        return seen

    _, _, every_moved, web_quiet, web_moved = asyncio.run(follow())
    assert "event: position" in every_moved
    assert web_quiet == ": still here\n\n"
    assert "event: position" in web_moved and '"audit_trail"' in web_moved


def test_a_token_issued_before_desks_is_refused_until_issued_again(rig: HttpRig, tickets: Tickets) -> None:
    rig.get("/api/dashboard", "dashboard@all")  # a body kept for this URL must not serve it either
    with rig.store.transaction() as tx:
        tx.execute("INSERT INTO http_tokens (token_hash, name, role, created_at) "
                   "VALUES (?, 'legacy', 'dashboard', '2026-11-16T09:00:00.000000Z')",
                   (token_hash("tkt_legacy"),))
    rig.tokens["legacy"] = "tkt_legacy"
    for path in ("/api/dashboard", "/api/tickets", f"/api/tickets/{tickets.web}", "/api/stream"):
        refused = rig.get(path, "legacy")
        assert refused.status_code == 401
        assert refused.json()["rule"] == "token_desks" and "--desk" in refused.json()["message"]
    assert "desk=" not in rig.client.get("/metrics", headers=rig.auth("legacy")).text
