"""Where read models live: one SQLite file (embedded) or PostgreSQL (scale), behind one small API.

SQL is written once, with ``?`` placeholders, in the dialect both databases share: ``TEXT`` times
(ISO 8601 UTC with microseconds, so text order is time order), ``BIGINT``, ``DOUBLE PRECISION``,
``INSERT ... ON CONFLICT ... DO UPDATE``. Every write happens inside ``transaction()``, which
commits on success and rolls back on any exception.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from consumers.pg_batches import execute_batched


class Tx(Protocol):
    dialect: str

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...


class _SqliteTx:
    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._conn.execute(sql, tuple(params)).fetchall()

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._conn.executemany(sql, rows)


class _PostgresTx:
    dialect = "postgres"

    def __init__(self, cursor: Any) -> None:
        self._cur = cursor

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("%", "%%").replace("?", "%s")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self._cur.execute(self._sql(sql), tuple(params))
        return self._cur.fetchall() if self._cur.description is not None else []

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Multi-row statements where the outcome is the same (``consumers.pg_batches``): 3-5x faster."""
        if rows:
            execute_batched(self._cur, sql, rows)


class ReadStore:
    """A connection factory for the read models. Thread-safe: one connection per thread."""

    def __init__(self, url: str) -> None:
        self.url = url
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

                conn = psycopg.connect(self.url, autocommit=False)
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        conn = self._connection()
        if self.dialect == "sqlite":
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteTx(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
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
