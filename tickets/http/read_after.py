"""Read your writes: a read that names a write waits, briefly, until the read models hold it.

An accepted command's answer carries ``at_least``: ``<ticket id>@<version>``. A ``GET`` under
``/api`` that sends it back (query ``?at_least=...`` or header ``Tickets-At-Least``) is answered
only once every read model holds that ticket at that version or later. It waits for at most
``HttpContext.read_wait`` seconds (2 by default; ``tickets serve --read-wait``), woken by the
read models' announcements (``tickets serve``) or looking every 50 ms (``tickets run``); past
that it answers ``425 Too Early`` with the usual problem body (``error: not_yet``, field
``at_least``, rule ``read_models_hold``) and ``Retry-After: 1``. A malformed value is ``400``.
The value is taken off the query before the route sees it, so the answer and its ETag are the
same as without it. A request without a token is not held: the route refuses it at once.
"""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qsl, unquote_plus
from uuid import UUID

from fastapi.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from tickets.http.context import HttpContext
from tickets.http.positions import FRESH

PARAMETER = "at_least"
HEADER = b"tickets-at-least"


class NotAWrite(ValueError):
    pass


def parse_mark(text: str) -> tuple[str, int]:
    """``<ticket id>@<version>`` -> (ticket id, version)."""
    ticket, at, version = text.strip().partition("@")
    try:
        ticket_id = str(UUID(ticket))
        number = int(version)
    except ValueError:
        raise NotAWrite(text) from None
    if not at or number < 1 or number >= 2**31:
        raise NotAWrite(text)
    return ticket_id, number


def mark_of(ticket_id: str, version: int) -> str:
    return f"{ticket_id}@{version}"


async def _problem(send: Send, status: int, body: dict[str, str], headers: list[tuple[bytes, bytes]]
                   ) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
        *headers]})
    await send({"type": "http.response.body", "body": data})


def _may_name(raw: bytes) -> bool:
    """Whether a raw query string may hold ``PARAMETER`` (its name as it is, or percent-encoded):
    most reads do not, and are not parsed here at all."""
    return PARAMETER.encode() in raw or b"%" in raw


class WaitForWrites:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        raw: bytes = scope["query_string"]
        query = parse_qsl(raw.decode("latin-1"), keep_blank_values=True) if _may_name(raw) else []
        given = [v for k, v in query if k == PARAMETER]
        wanted = given[-1] if given else headers.get(HEADER, b"").decode("latin-1") or None
        if wanted is None or b"authorization" not in headers:
            await self.app(scope, receive, send)
            return
        try:
            ticket_id, version = parse_mark(wanted)
        except NotAWrite:
            await _problem(send, 400, {
                "error": "validation", "field": PARAMETER, "rule": "ticket_at_version",
                "message": f"{PARAMETER} must be <ticket id>@<version>, as a write's answer gives it",
            }, [])
            return
        ctx: HttpContext = scope["app"].state.ctx
        deadline = time.monotonic() + ctx.read_wait
        while not await run_in_threadpool(ctx.reads.holds, ticket_id, version):
            left = deadline - time.monotonic()
            if left <= 0:
                await _problem(send, 425, {
                    "error": "not_yet", "field": PARAMETER, "rule": "read_models_hold",
                    "message": f"the read models do not hold ticket {ticket_id} at version {version} "
                               f"yet (waited {ctx.read_wait:g} s); ask again",
                }, [(b"retry-after", b"1")])
                return
            await ctx.reads.moved(left)
        await run_in_threadpool(ctx.reads.settle)  # no answer kept from before the write
        scope = {**scope, FRESH: True}
        if given:
            scope["query_string"] = _without_mark(scope["query_string"])
        await self.app(scope, receive, send)


def _without_mark(query: bytes) -> bytes:
    """The query string as sent, less its ``at_least`` parts (the rest keeps its own spelling)."""
    return b"&".join(part for part in query.split(b"&")
                     if unquote_plus(part.split(b"=", 1)[0].decode("latin-1")) != PARAMETER)
