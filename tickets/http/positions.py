"""How far the read models are, and the ETags built on it, so a polling dashboard costs a 304.

An ETag covers everything a read response depends on: every projection's position (a change in
any read model gives a new tag), the minute of the clock (SLA states move with time alone:
a response is at most a minute behind a change that no event made), the caller's view (the role,
which masks, and the desks, which filter: ``Caller.view``) and the request's path and query.

Because the tag covers all of that, a body already built for a tag can be served again to any
caller who asks with the same tag in force: ``conditional`` keeps the last bodies it built, so
many dashboards polling the same figures cost one build per change or minute. The tag and the
304 are decided on the event loop (two indexed reads of well under a millisecond); only a body
that must be built goes to the thread pool (or, a list page on PostgreSQL, to the loop's own
connections: ``fast_reads``). ``answer_read`` decides, for the routes and for ``fast_reads``.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime

import structlog
from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool

from tickets.http.context import HttpContext, context_of
from tickets.http.read_models import projection_marks
from tickets.projections.readstore import ReadStore

log = structlog.get_logger("tickets.http")

#: Set in a request's scope when it must see the read models as they are now (``read_after``):
#: no earlier body is answered while a new one is built.
FRESH = "tickets.fresh"

#: Bodies kept per app, and the largest body kept (a ticket page of 500 is about 250 KB).
CACHED_BODIES = 256
CACHED_BODY_LIMIT = 512 * 1024


def positions(store: ReadStore) -> dict[str, int]:
    """Each projection's position (the app creates the table if no feed has run yet)."""
    return projection_marks(store)


def read_position(store: ReadStore) -> int:
    return max(positions(store).values(), default=0)


def etag_for(marks: dict[str, int], minute: datetime, view: str, path: str, query: str) -> str:
    tagged = "|".join(f"{k}={v}" for k, v in sorted(marks.items()))
    key = f"{tagged}|{minute.isoformat()}|{view}|{path}?{query}"
    return 'W/"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


def tag(ctx: HttpContext, view: str, path: str, query: str) -> tuple[str, dict[str, int], datetime]:
    """(ETag, positions, now) for a read of ``path?query`` in ``view`` (``Caller.view``), as of now."""
    marks = ctx.reads.marks()
    now = ctx.clock.now()
    keys = ctx.desk.personal.generation()  # an erasure: bodies built before it are not reused
    return etag_for(marks, now.replace(second=0, microsecond=0), f"{view}|{keys}", path, query), \
        marks, now


def etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    wanted = {t.strip().removeprefix("W/") for t in header.split(",")}
    return etag.removeprefix("W/") in wanted


def body_key(ctx: HttpContext, view: str, path: str, query: str) -> str:
    """Which request a body answers, whatever the marks (``BodyCache.latest``). The key
    generation is part of it: a body built before an erasure is never served after it."""
    return f"{view}|{ctx.desk.personal.generation()}|{path}?{query}"


class BodyCache:
    """The last bodies built, by ETag (least recently used out first)."""

    def __init__(self, size: int = CACHED_BODIES) -> None:
        self.size = size
        self._bodies: OrderedDict[str, bytes] = OrderedDict()
        self._building: dict[str, asyncio.Future[bytes]] = {}
        #: The last body built per request (role, path and query), with its tag.
        self._latest: OrderedDict[str, tuple[str, bytes]] = OrderedDict()
        self._behind: set[asyncio.Task[bytes]] = set()
        self._lock = threading.Lock()

    def get(self, etag: str) -> bytes | None:
        with self._lock:
            body = self._bodies.get(etag)
            if body is not None:
                self._bodies.move_to_end(etag)
            return body

    def building(self, etag: str) -> bool:
        """Whether a body for ``etag`` is being built (read on the event loop)."""
        return etag in self._building

    def latest(self, key: str) -> tuple[str, bytes] | None:
        with self._lock:
            return self._latest.get(key)

    def build_behind(self, etag: str, make: Callable[[], Awaitable[bytes]], key: str) -> None:
        """``build_once`` in a task of its own, nobody waiting for it."""
        task = asyncio.ensure_future(self.build_once(etag, make, key))
        self._behind.add(task)
        task.add_done_callback(self._behind_done)

    def _behind_done(self, task: asyncio.Task[bytes]) -> None:
        self._behind.discard(task)
        if not task.cancelled() and task.exception() is not None:  # the next request builds again
            log.warning("body_build_failed", error=type(task.exception()).__name__)

    async def build_once(self, etag: str, make: Callable[[], Awaitable[bytes]], key: str = "") -> bytes:
        """The body for ``etag`` built by ``make``, once however many ask for it meanwhile (when
        the read models move, every poller misses at once); then kept. Runs on the event loop."""
        building = self._building.get(etag)
        if building is not None:
            return await asyncio.shield(building)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._building[etag] = future
        try:
            body = await make()
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # those waiting get it; nobody else needs to
            raise
        finally:
            self._building.pop(etag, None)
        future.set_result(body)
        self.put(etag, body, key)
        return body

    def put(self, etag: str, body: bytes, key: str = "") -> None:
        if len(body) > CACHED_BODY_LIMIT:
            return
        with self._lock:
            self._bodies[etag] = body
            while len(self._bodies) > self.size:
                self._bodies.popitem(last=False)
            if key:
                self._latest[key] = (etag, body)
                self._latest.move_to_end(key)
                while len(self._latest) > self.size:
                    self._latest.popitem(last=False)


async def answer_read(ctx: HttpContext, bodies: BodyCache, view: str, path: str, query: str,
                      if_none_match: str | None, fresh: bool,
                      make: Callable[[int, datetime], Awaitable[bytes]]) -> tuple[int, str, bytes]:
    """(status, ETag, body) of a read: 304 when the caller holds the tag, else the body kept for
    it, else (``answer_while_building``, not ``fresh``) the last body while this one is built
    behind, else the body built now by ``make(position, now)``, once however many ask."""
    etag, marks, now = tag(ctx, view, path, query)
    if etag_matches(if_none_match, etag):
        return 304, etag, b""
    body = bodies.get(etag)
    if body is None:
        key = body_key(ctx, view, path, query)
        previous = bodies.latest(key) if ctx.answer_while_building and not fresh else None
        build = functools.partial(make, ctx.reads.position(marks), now)
        if previous is None:
            body = await bodies.build_once(etag, build, key)
        else:  # the last body built, under its own tag, while this one is built
            bodies.build_behind(etag, build, key)
            etag, body = previous
            if etag_matches(if_none_match, etag):
                return 304, etag, b""
    return 200, etag, body


async def conditional(request: Request, view: str, build: Callable[[int, datetime], bytes]) -> Response:
    """A JSON response with an ETag, or 304 when the caller already holds it (``answer_read``).

    ``build(position, now)`` runs in the thread pool, only when no body for this tag is kept.
    """
    async def make(position: int, now: datetime) -> bytes:
        return await run_in_threadpool(build, position, now)

    status, etag, body = await answer_read(
        context_of(request), request.app.state.bodies, view, request.url.path, request.url.query,
        request.headers.get("if-none-match"), bool(request.scope.get(FRESH)),
        make)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if status == 304:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)
