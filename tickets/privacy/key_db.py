"""Where the key table lives: a SQLite file of its own, or a PostgreSQL schema of its own.

Both hold the same two tables (``subject_keys``, ``key_table``) and answer the same statements,
written with ``?`` placeholders; what differs is here: opening, the DDL, transactions, and what is
done after an erasure so that no copy of a destroyed key stays where the engine can reach it.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from tickets.config import SQLITE_SYNCHRONOUS

_TABLES = (
    "CREATE TABLE IF NOT EXISTS subject_keys (subject TEXT PRIMARY KEY, key_id TEXT NOT NULL "
    "UNIQUE, material {blob}, created_at TEXT NOT NULL, erasing TEXT)",
    "CREATE TABLE IF NOT EXISTS key_table (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
)


class KeyDb(Protocol):
    where: str  # for messages: the file, or host:port/schema (no password)
    lock: threading.RLock

    def execute(self, sql: str, args: tuple[Any, ...] = ()) -> Any: ...

    def transaction(self) -> Any: ...

    def after_erasure(self) -> None: ...

    def close(self) -> None: ...


class SqliteKeyDb:
    """``secure_delete`` zeroes freed pages; a ``wal_checkpoint(TRUNCATE)`` after each erasure
    leaves no old page in the write-ahead log."""

    def __init__(self, path: Path, synchronous: str = "NORMAL") -> None:
        self.where = str(path)
        self.lock = threading.RLock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA secure_delete=ON")
        self._db.execute("PRAGMA journal_mode=WAL")
        # The event store's level (``TICKETS_SQLITE_SYNCHRONOUS``): a key is lost only with the
        # events written in the same last moments before a power cut.
        self._db.execute(f"PRAGMA synchronous={SQLITE_SYNCHRONOUS.parse(synchronous)}")
        for statement in _TABLES:
            self._db.execute(statement.format(blob="BLOB"))

    def execute(self, sql: str, args: tuple[Any, ...] = ()) -> Any:
        return self._db.execute(sql, args)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def after_erasure(self) -> None:
        with self.lock:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self.lock:
            self._db.close()


class PostgresKeyDb:
    """The tables in a schema of their own (``KEYS_SCHEMA``, or ``<schema>_keys`` beside an event
    store in a schema). PostgreSQL cannot overwrite a destroyed key in place: ``VACUUM`` after each
    erasure frees the dead row's space for reuse; docs/privacy.md says what that does not reach."""

    def __init__(self, url: str) -> None:
        import psycopg

        parts = urlsplit(url)
        query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
        self.schema = f"{query['schema']}_keys" if "schema" in query else KEYS_SCHEMA
        self.where = f"{parts.hostname}:{parts.port or 5432}{parts.path}/{self.schema}"
        self.lock = threading.RLock()
        self._conn: Any = psycopg.connect(
            host=parts.hostname or "127.0.0.1", port=parts.port or 5432,
            dbname=parts.path.lstrip("/"), user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""), autocommit=True, connect_timeout=10)
        for attempt in range(1, 6):  # processes starting together race to create the tables
            try:
                self._create()
                break
            except psycopg.errors.UniqueViolation:
                if attempt == 5:
                    raise
                time.sleep(0.1 * attempt)

    def _create(self) -> None:
        self._conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
        self._conn.execute(f'SET search_path TO "{self.schema}"')
        for statement in _TABLES:
            self._conn.execute(statement.format(blob="BYTEA"))

    def execute(self, sql: str, args: tuple[Any, ...] = ()) -> Any:
        return self._conn.execute(sql.replace("?", "%s"), args)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.lock, self._conn.transaction():
            yield

    def after_erasure(self) -> None:
        with self.lock:
            self._conn.execute("VACUUM subject_keys")

    def close(self) -> None:
        with self.lock:
            self._conn.close()


KEYS_SCHEMA = "tickets_keys"
