"""Connections for ticket-list pages in the HTTP server's event loop (PostgreSQL only).

A page read in the thread pool costs a hand-over to a thread and back, and the thread then waits
for the interpreter's lock each time its database answers while the loop serves polls flat out
(docs/performance.md). These asyncio psycopg connections read pages in the loop itself
(``fast_reads``), up to ``SIZE`` at a time.

Each connection reads pages and nothing else, so it is told the page's planner settings once
(``page_settings_sql``, for the session) and runs in autocommit: a page is its one to three
statements, without BEGIN, settings and COMMIT around them. Each statement sees the last
committed state, as in the thread's READ COMMITTED transaction.

A pool belongs to one event loop (``pool_for``); a connection whose read failed is closed, and
the next page opens a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import structlog

from tickets.http.ticket_list import page_settings_sql
from tickets.projections.readstore import ReadStore

log = structlog.get_logger("tickets.http")

#: Pages read at once; more wait for a connection (the benchmark's load is 4 at a time).
SIZE = 4


class PagePool:
    def __init__(self, store: ReadStore, size: int = SIZE) -> None:
        self.store = store
        self.loop = asyncio.get_running_loop()
        self._idle: list[Any] = []
        self._slots = asyncio.Semaphore(size)

    async def _connect(self) -> Any:
        import psycopg

        timeout: dict[str, Any] = {} if "connect_timeout=" in self.store.url else {
            "connect_timeout": self.store.connect_timeout}
        conn = await psycopg.AsyncConnection.connect(self.store.url, autocommit=True, **timeout)
        await conn.execute(page_settings_sql(local=False))
        return conn

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[Any]:
        async with self._slots:
            conn = self._idle.pop() if self._idle else await self._connect()
            try:
                yield conn
            except BaseException:
                with contextlib.suppress(Exception):
                    await conn.close()
                raise
            if not conn.closed:
                self._idle.append(conn)

    def abandon(self) -> None:
        """Close the idle connections of a loop that has gone (without it: no await)."""
        idle, self._idle = self._idle, []
        for conn in idle:
            with contextlib.suppress(Exception):
                conn.pgconn.finish()

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            with contextlib.suppress(Exception):
                await conn.close()


def pool_for(state: Any, store: ReadStore) -> PagePool | None:
    """The app's pool for the running loop (a new one when the loop is new); None on SQLite."""
    if store.dialect != "postgres":
        return None
    pool: PagePool | None = getattr(state, "page_pool", None)
    if pool is None or pool.loop is not asyncio.get_running_loop():
        if pool is not None:
            pool.abandon()
        pool = state.page_pool = PagePool(store)
    return pool


async def close_pool(state: Any) -> None:
    """Close the app's pool (the server stopping), when it has one in this loop."""
    pool: PagePool | None = getattr(state, "page_pool", None)
    if pool is not None and pool.loop is asyncio.get_running_loop():
        await pool.close()
