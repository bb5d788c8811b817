"""Where read models live: one SQLite file (embedded) or PostgreSQL (scale), behind one small API.

SQL is written once, with ``?`` placeholders, in the dialect both databases share: ``TEXT`` times
(ISO 8601 UTC with microseconds, so text order is time order), ``BIGINT``, ``DOUBLE PRECISION``,
``INSERT ... ON CONFLICT ... DO UPDATE``. Every write happens inside ``transaction()``, which
commits on success and rolls back on any exception.

A pipelined transaction (``transaction(pipelined=True)``, PostgreSQL only; SQLite has no round
trips to save) sends statements without waiting for each one: writes that return no rows are
queued, and go with the next read or the commit; reads queued with ``query`` (or ``query_in``) go
together, and the first ``rows()`` brings every result back in one round trip. So a batch that
reads its state with a handful of queries and writes a dozen statements costs two round trips,
not twenty. An error in a queued write is raised by the next read or by the commit, inside the
transaction, which then rolls back as any other error.

On PostgreSQL a transaction may ``announce`` what it changed: a ``NOTIFY`` that PostgreSQL
delivers to every session listening on the channel when, and only if, the transaction commits
(``READ_MODEL_CHANNEL`` for the consumer groups' batches; see docs/kafka.md). SQLite has no such
thing, and there it does nothing.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

Rows = list[tuple[Any, ...]]
#: Values per ``IN (...)`` list on SQLite: well inside every SQLite build's limit on parameters.
SQLITE_CHUNK = 500
#: Statements that return no rows unless they say ``RETURNING``: these can wait in a pipeline.
_WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)
#: The PostgreSQL channel on which read-model writers announce their commits; the payload names
#: the writer (a consumer group).
READ_MODEL_CHANNEL = "tickets_read_model"


class Pending(Protocol):
    """A query's rows, perhaps still on their way (a pipelined transaction)."""

    def rows(self) -> Rows: ...


class _Ready:
    def __init__(self, rows: Rows) -> None:
        self._rows = rows

    def rows(self) -> Rows:
        return self._rows


class Tx(Protocol):
    dialect: str

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    def query(self, sql: str, params: Sequence[Any] = ()) -> Pending:
        """``execute`` for a read whose rows are wanted later: queued in a pipelined transaction."""
        ...

    def query_in(self, sql: str, params: Sequence[Any], values: Sequence[Any]) -> Pending:
        """``query`` of ``sql`` holding one ``{in}``, the condition "is one of ``values``".

        ``{in}`` becomes ``= ANY(?)`` with one array parameter on PostgreSQL (one statement text,
        whatever the count: prepared once, never parsed anew), and ``IN (?, ...)`` on SQLite
        (``SQLITE_CHUNK`` values per query). ``params`` go before the values.
        """
        ...

    def announce(self, channel: str, payload: str) -> None:
        """Tell the channel's listeners when this transaction commits (PostgreSQL ``NOTIFY``;
        nothing on SQLite). Queued like a write in a pipelined transaction."""
        ...


class _SqliteTx:
    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._conn.execute(sql, tuple(params)).fetchall()

    def query(self, sql: str, params: Sequence[Any] = ()) -> Pending:
        return _Ready(self.execute(sql, params))

    def query_in(self, sql: str, params: Sequence[Any], values: Sequence[Any]) -> Pending:
        rows: Rows = []
        for start in range(0, len(values), SQLITE_CHUNK):
            part = list(values[start:start + SQLITE_CHUNK])
            rows += self.execute(sql.format(**{"in": f"IN ({','.join('?' * len(part))})"}),
                                 (*params, *part))
        return _Ready(rows)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._conn.executemany(sql, rows)

    def announce(self, channel: str, payload: str) -> None:
        """SQLite has no listeners to tell."""


class _Queued:
    """A read sent in a pipeline, on a cursor of its own; the first ``rows()`` fetches its result."""

    def __init__(self, cursor: Any) -> None:
        self._cur = cursor
        self._rows: Rows | None = None

    def rows(self) -> Rows:
        if self._rows is None:
            self._rows = self._cur.fetchall()  # in a pipeline: flushes, then reads every result due
            self._cur.close()
        return self._rows


def postgres_sql(sql: str) -> str:
    """SQL written with ``?`` placeholders, as psycopg takes it (``%s``)."""
    return sql.replace("%", "%%").replace("?", "%s")


class _PostgresTx:
    dialect = "postgres"

    def __init__(self, cursor: Any, pipeline: Any = None) -> None:
        self._cur = cursor
        self._pipeline = pipeline

    _sql = staticmethod(postgres_sql)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self._cur.execute(self._sql(sql), tuple(params))
        if self._pipeline is not None:
            if _WRITE.match(sql) and not _RETURNING.search(sql):
                return []  # no rows either way: it goes with the next read or the commit
            self._pipeline.sync()
        return self._cur.fetchall() if self._cur.description is not None else []

    def query(self, sql: str, params: Sequence[Any] = ()) -> Pending:
        if self._pipeline is None:
            return _Ready(self.execute(sql, params))
        cursor = self._cur.connection.cursor()
        cursor.execute(self._sql(sql), tuple(params))
        return _Queued(cursor)

    def query_in(self, sql: str, params: Sequence[Any], values: Sequence[Any]) -> Pending:
        from tickets.projections.pg_arrays import TextArray, encode  # psycopg's: PostgreSQL only

        array: Any = list(values)
        if all(type(v) is str for v in array):  # ids: sent as a binary text[], not quoted one by one
            array = encode(TextArray, array) or array
        return self.query(sql.format(**{"in": "= ANY(?)"}), (*params, array))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Multi-row statements where the outcome is the same (``projections.pg_batches``): 3-5x faster."""
        from tickets.projections.pg_batches import execute_batched  # psycopg's: PostgreSQL only

        if rows:
            execute_batched(self._cur, sql, rows)

    def announce(self, channel: str, payload: str) -> None:
        from psycopg import sql

        self._cur.execute(sql.SQL("NOTIFY {}, {}").format(sql.Identifier(channel), sql.Literal(payload)))


class ReadStore:
    """A connection factory for the read models. Thread-safe: one connection per thread."""

    def __init__(self, url: str, connect_timeout: int = 10) -> None:
        self.url = url
        #: Seconds a PostgreSQL connection may take (libpq waits for ever by default); a
        #: ``connect_timeout`` in the URL wins.
        self.connect_timeout = connect_timeout
        self._local = threading.local()
        if url.startswith("sqlite:///"):
            self.dialect = "sqlite"
            self._path = url.removeprefix("sqlite:///")
            if self._path != ":memory:":
                Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        elif url.startswith(("postgresql://", "postgres://")):
            self.dialect = "postgres"
        else:
            raise ValueError("read model URL must be sqlite:///PATH or postgresql://...")

    def _connection(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self.dialect == "sqlite":
                conn = sqlite3.connect(self._path, timeout=30, isolation_level=None,
                                       check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
            else:
                import psycopg

                # The binary array dumpers register with psycopg's global adapters, which a
                # connection copies when it is made: loaded before the first one.
                import tickets.projections.pg_batches  # noqa: F401

                timeout: dict[str, Any] = (
                    {} if "connect_timeout=" in self.url else {"connect_timeout": self.connect_timeout})
                conn = psycopg.connect(self.url, autocommit=False, **timeout)
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self, *, pipelined: bool = False) -> Iterator[Tx]:
        """One transaction; ``pipelined`` sends PostgreSQL statements without waiting (see above)."""
        conn = self._connection()
        if self.dialect == "sqlite":
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteTx(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        elif pipelined:
            try:
                with conn.pipeline() as pipeline, conn.cursor() as cur:
                    yield _PostgresTx(cur, pipeline)
                    conn.commit()  # COMMIT goes with the queued writes: one round trip
            except BaseException:
                conn.rollback()
                raise
        else:
            try:
                with conn.cursor() as cur:
                    yield _PostgresTx(cur)
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    @contextmanager
    def snapshot(self) -> Iterator[Tx]:
        """A read-only view of one committed state, for queries that read several tables."""
        conn = self._connection()
        if self.dialect == "sqlite":
            conn.execute("BEGIN")
            try:
                yield _SqliteTx(conn)
            finally:
                conn.execute("ROLLBACK")
        else:
            try:
                with conn.cursor() as cur:
                    cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    yield _PostgresTx(cur)
            finally:
                conn.rollback()

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """A read outside any write transaction (sees the last committed state)."""
        if self.dialect == "sqlite":
            return self._connection().execute(sql, tuple(params)).fetchall()
        with self.transaction() as tx:
            return tx.execute(sql, params)

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
