"""Reads written once as steps, and run on either kind of connection.

A read that takes several statements, each chosen from the rows of the one before (a ticket page:
the running clocks, then the rest, then the facts of the tickets found), is a generator: it yields
each statement (SQL with ``?`` placeholders, and its parameters), is sent back its rows, and
returns its answer. ``run_steps`` drives it in a ``Tx`` (SQLite, or PostgreSQL in a thread);
``run_steps_async`` on an asyncio psycopg connection in the server's event loop
(``tickets.http.page_pool``), so the same reads answer without a thread.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any, TypeVar

from tickets.projections.readstore import Tx, postgres_sql

T = TypeVar("T")
Rows = list[tuple[Any, ...]]
Statement = tuple[str, Sequence[Any]]
#: Yields statements, is sent each one's rows, returns ``T``.
Steps = Generator[Statement, Rows, T]


def run_steps(tx: Tx, steps: Steps[T]) -> T:
    try:
        statement = next(steps)
        while True:
            statement = steps.send(tx.execute(*statement))
    except StopIteration as done:
        result: T = done.value
        return result


async def run_steps_async(conn: Any, steps: Steps[T]) -> T:
    """``run_steps`` on an asyncio psycopg connection (PostgreSQL only)."""
    from psycopg.pq import ExecStatus

    async with conn.cursor() as cur:
        try:
            sql, params = next(steps)
            while True:
                await cur.execute(postgres_sql(sql), tuple(params))
                # the result's status, not ``description`` (which builds an object per column)
                answered = cur.pgresult is not None and cur.pgresult.status == ExecStatus.TUPLES_OK
                rows = await cur.fetchall() if answered else []
                sql, params = steps.send(rows)
        except StopIteration as done:
            result: T = done.value
            return result
