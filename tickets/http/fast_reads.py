"""A short way through for polls: a read whose ETag is the caller's (304) or whose body is kept.

Dashboards poll the same few URLs, and between two changes of the read models every answer is
either "not modified" or a body already built. This pure ASGI layer sits outside the router: for
a GET of a read route it checks the token and role, computes the ETag exactly as the routes do
(the view: role and desks)
(``positions.tag``), and answers 304 or the kept body at once, skipping dependency resolution
and the request/response machinery (about half the server's time per request). Anything else
(no token, a refusal, a body not built yet) goes on to the routes, which answer and log as usual.

A ticket-list page whose body is not kept is built here too when the read models are PostgreSQL's
(``tickets serve``): its query values read as the route reads them (``ticket_page``; anything
the route might refuse goes on to the route), its reads on an asyncio connection of the loop
(``page_pool``), so a page never waits for a thread (docs/performance.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import structlog
from starlette.types import ASGIApp, Receive, Scope, Send

from tickets.domain.scope import DeskScope
from tickets.http.auth import view_of
from tickets.http.context import HttpContext
from tickets.http.page_pool import pool_for
from tickets.http.positions import FRESH, BodyCache, answer_read, body_key, etag_matches, tag
from tickets.http.roles import Permission, may
from tickets.http.steps import run_steps_async
from tickets.http.ticket_page import page_body_steps, query_from_text

log = structlog.get_logger("tickets.http")

#: Read routes whose answers carry ETags, and the permission each needs.
_ROUTES = (
    (re.compile(r"/api/(dashboard|queues|tickets)"), Permission.READ),
    (re.compile(r"/api/tickets/[^/]+"), Permission.READ),
    (re.compile(r"/api/tickets/[^/]+/audit"), Permission.AUDIT),
)
_TEMPLATES = {path: path for path in ("/api/dashboard", "/api/queues", "/api/tickets")}


@dataclass(frozen=True)
class _Route:
    """What the request metrics read as the route (``path``), as for a routed request."""

    path: str


def _route(path: str) -> tuple[str, Permission] | None:
    for pattern, permission in _ROUTES:
        if pattern.fullmatch(path):
            template = _TEMPLATES.get(path) or (
                "/api/tickets/{ref}/audit" if path.endswith("/audit") else "/api/tickets/{ref}")
            return template, permission
    return None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def _send(scope: Scope, send: Send, template: str, status: int, etag: str, body: bytes) -> None:
    scope["route"] = _Route(template)
    headers = [(b"etag", etag.encode()), (b"cache-control", b"no-cache")]
    if status == 200:
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class FastReads:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def _list_page(self, scope: Scope, send: Send, ctx: HttpContext, role: str, desks: DeskScope,
                         view: str, query: str) -> bool:
        """A ticket-list page answered here, read on the loop's own connection (``page_pool``),
        when the read models are PostgreSQL's and every query value is plainly valid; else False
        (nothing sent): the route answers, and refuses what it refuses."""
        pool = pool_for(scope["app"].state, ctx.store)
        wanted = query_from_text(ctx, desks, query) if pool is not None else None
        if pool is None or wanted is None:
            return False
        personal = may(role, Permission.PERSONAL)

        async def make(position: int, now: datetime) -> bytes:
            async with pool.connection() as conn:
                return await run_steps_async(
                    conn, page_body_steps(ctx, "postgres", wanted, personal, position, now))

        try:
            status, etag, body = await answer_read(
                ctx, scope["app"].state.bodies, view, scope["path"], query,
                _header(scope, b"if-none-match"), bool(scope.get(FRESH)), make)
        except Exception as error:  # the database on the loop's connection: the route tries again
            log.warning("fast_list_failed", error=type(error).__name__)
            return False
        await _send(scope, send, "/api/tickets", status, etag, body)
        return True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = _route(scope["path"]) if scope["type"] == "http" and scope["method"] == "GET" else None
        authorization = _header(scope, b"authorization") if found else None
        if found is None or authorization is None or not authorization.startswith("Bearer "):
            await self.app(scope, receive, send)
            return
        ctx: HttpContext = scope["app"].state.ctx
        token = ctx.tokens.find(authorization.removeprefix("Bearer ").strip())
        if token is None or not token.live or token.desks is None or not may(token.role, found[1]):
            await self.app(scope, receive, send)
            return
        query = scope["query_string"].decode("latin-1")
        view = view_of(token.role, token.desks)
        if found[0] == "/api/tickets" and await self._list_page(
                scope, send, ctx, token.role, token.desks, view, query):
            return
        etag, _, _ = tag(ctx, view, scope["path"], query)
        bodies: BodyCache = scope["app"].state.bodies
        held = etag_matches(_header(scope, b"if-none-match"), etag)
        kept = None if held else bodies.get(etag)
        if (kept is None and not held and ctx.answer_while_building and not scope.get(FRESH)
                and bodies.building(etag)):
            previous = bodies.latest(body_key(ctx, view, scope["path"], query))
            if previous is not None:  # the last body, under its own tag, while the next is built
                etag, kept = previous
        if etag_matches(_header(scope, b"if-none-match"), etag):
            status, body = 304, b""
        elif kept is None:
            await self.app(scope, receive, send)
            return
        else:
            status, body = 200, kept
        await _send(scope, send, found[0], status, etag, body)
