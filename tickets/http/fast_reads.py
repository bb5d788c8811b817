"""A short way through for polls: a read whose ETag is the caller's (304) or whose body is kept.

Dashboards poll the same few URLs, and between two changes of the read models every answer is
either "not modified" or a body already built. This pure ASGI layer sits outside the router: for
a GET of a read route it checks the token and role, computes the ETag exactly as the routes do
(the view: role and desks)
(``positions.tag``), and answers 304 or the kept body at once, skipping dependency resolution
and the request/response machinery (about half the server's time per request). Anything else
(no token, a refusal, a body not built yet) goes on to the routes, which answer and log as usual.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from tickets.http.auth import view_of
from tickets.http.context import HttpContext
from tickets.http.positions import FRESH, BodyCache, body_key, etag_matches, tag
from tickets.http.roles import Permission, may

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


class FastReads:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

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
        scope["route"] = _Route(found[0])
        headers = [(b"etag", etag.encode()), (b"cache-control", b"no-cache")]
        if status == 200:
            headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
