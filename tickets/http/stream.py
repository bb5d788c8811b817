"""``GET /api/stream``: server-sent events whenever a read model moves, so a page refetches then.

Each connection looks at the projections' positions every ``stream_interval`` (0.2 s) and sends
``event: position`` with the new position and the projections that moved. When the clock enters a
new minute with no event, it sends ``event: clock`` (SLA states move with time alone, and the
read API's ETags change with the minute). A comment line every ``stream_heartbeat`` seconds keeps
idle connections open through proxies. The stream ends when the server stops. A caller on some
desks hears only of moves that its desks' tickets made (``stream_scope``).

Over the consumer group's shared read models (``tickets serve``) the stream is
``change_stream.shared_changes`` instead: woken by the group's announcements, with each change of
the caller's desks.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from tickets.domain.scope import EVERY_DESK, DeskScope
from tickets.http.auth import Caller, require
from tickets.http.context import HttpContext, context_of
from tickets.http.positions import positions
from tickets.http.roles import Permission
from tickets.http.stream_scope import DeskFilter
from tickets.output import iso

router = APIRouter(prefix="/api", tags=["read"])
Reader = Annotated[Caller, Depends(require(Permission.READ))]


def sse(event: str, data: dict[str, Any], event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def changes(ctx: HttpContext, desks: DeskScope = EVERY_DESK) -> AsyncIterator[str]:
    seen = await run_in_threadpool(positions, ctx.store)
    mine = DeskFilter.starting_at(desks, seen)
    minute = ctx.clock.now().replace(second=0, microsecond=0)
    yield sse("position", {"position": max(seen.values(), default=0), "moved": sorted(seen),
                           "positions": seen, "as_of": iso(ctx.clock.now())}, max(seen.values(), default=0))
    quiet_since = time.monotonic()
    while not ctx.closing.is_set():
        await asyncio.sleep(ctx.stream_interval)
        now_positions = await run_in_threadpool(positions, ctx.store)
        now = ctx.clock.now()
        moved = sorted(k for k, v in now_positions.items() if seen.get(k) != v)
        if moved and not desks.every:
            moved = await run_in_threadpool(mine.told, ctx.store, seen, now_positions, moved)
        position = max(now_positions.values(), default=0)
        if moved:
            yield sse("position", {"position": position, "moved": moved,
                                   "positions": now_positions, "as_of": iso(now)}, position)
        elif now.replace(second=0, microsecond=0) != minute:
            yield sse("clock", {"position": position, "as_of": iso(now)}, position)
        elif time.monotonic() - quiet_since >= ctx.stream_heartbeat:
            yield ": still here\n\n"
        else:
            continue
        seen, minute, quiet_since = now_positions, now.replace(second=0, microsecond=0), time.monotonic()


@router.get("/stream", summary="Server-sent events: the read models moved, or the minute turned")
async def stream_route(request: Request, caller: Reader) -> StreamingResponse:
    ctx = context_of(request)
    follower = getattr(ctx.reads, "follower", None)
    if follower is None:
        body = changes(ctx, caller.desks)
    else:
        from tickets.http.change_stream import shared_changes  # it builds on this module's sse

        body = shared_changes(ctx, follower, caller.desks)
    return StreamingResponse(body, media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
