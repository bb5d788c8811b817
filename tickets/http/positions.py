"""How far the read models are, and the ETags built on it, so a polling dashboard costs a 304.

An ETag covers everything a read response depends on: every projection's position (a change in
any read model gives a new tag), the minute of the clock (SLA states move with time alone:
a response is at most a minute behind a change that no event made), the caller's role (masking)
and the request's path and query.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime

from fastapi import Request, Response

from consumers.readstore import ReadStore
from tickets.http.context import context_of


def positions(store: ReadStore) -> dict[str, int]:
    """Each projection's position (the app creates the table if no feed has run yet)."""
    rows = store.read("SELECT projection, position FROM projection_positions")
    return {str(name): int(position) for name, position in rows}


def read_position(store: ReadStore) -> int:
    return max(positions(store).values(), default=0)


def etag_for(marks: dict[str, int], minute: datetime, role: str, request: Request) -> str:
    tagged = "|".join(f"{k}={v}" for k, v in sorted(marks.items()))
    key = f"{tagged}|{minute.isoformat()}|{role}|{request.url.path}?{request.url.query}"
    return 'W/"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


def _matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    wanted = {t.strip().removeprefix("W/") for t in header.split(",")}
    return etag.removeprefix("W/") in wanted


def conditional(request: Request, role: str, build: Callable[[int, datetime], bytes]) -> Response:
    """A JSON response with an ETag, or 304 when the caller already holds it.

    ``build(position, now)`` runs only when the body is needed.
    """
    ctx = context_of(request)
    marks = positions(ctx.store)
    now = ctx.clock.now()
    etag = etag_for(marks, now.replace(second=0, microsecond=0), role, request)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    body = build(max(marks.values(), default=0), now)
    return Response(body, media_type="application/json", headers=headers)
