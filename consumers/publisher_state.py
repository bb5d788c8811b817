"""Where the publisher keeps its position, and how only one publisher leads at a time.

Both live with the event store, so the position goes wherever the events go (a backup or a copy
of the store carries it) and leadership is decided by the database every publisher already needs:

* PostgreSQL: table ``publisher_positions(name, position)`` in the event store's database (and
  schema); leadership is the session advisory lock ``pg_try_advisory_lock(key)`` on the same
  connection that writes the position. When a leader dies its connection closes and PostgreSQL
  frees the lock; a leader whose connection broke cannot record a position any more.
* SQLite: the same table in the event store's file; leadership is an exclusive ``flock`` on a lock
  file beside it, freed by the kernel when the leader's process ends in any way.

Standbys call ``try_lead`` every so often and take over when it answers yes. The position is the
store's notification id of the last event the broker acknowledged; a new leader starts after it.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import sqlite3
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

DDL = "CREATE TABLE IF NOT EXISTS publisher_positions (name TEXT PRIMARY KEY, position BIGINT NOT NULL)"
UPSERT = ("INSERT INTO publisher_positions (name, position) VALUES ({0}, {0}) ON CONFLICT (name) "
          "DO UPDATE SET position = excluded.position")


class PublisherState(Protocol):
    def try_lead(self) -> bool: ...

    def position(self) -> int: ...

    def save(self, position: int) -> None: ...

    def close(self) -> None: ...


def postgres_conninfo(url: str) -> tuple[str, str | None]:
    """A libpq URL and the schema, from the configuration's URL (``?schema=NAME`` becomes the search path)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    schema = query.pop("schema", None)
    if schema:
        query["options"] = f"{query.get('options', '')} -csearch_path={schema}".strip()
    return urlunsplit(parts._replace(query=urlencode(query))), schema


def lock_key(text: str) -> int:
    """A stable signed 64-bit advisory lock key for ``text``."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big", signed=True)


class PostgresPublisherState:
    def __init__(self, url: str, name: str) -> None:
        import psycopg

        conninfo, schema = postgres_conninfo(url)
        self.name = name
        self.key = lock_key(f"tickets-publisher/{schema or ''}/{name}")
        # Keepalives: a leader cut off from the database finds out within about half a minute.
        self._conn: Any = psycopg.connect(conninfo, autocommit=True, keepalives=1, keepalives_idle=10,
                                          keepalives_interval=5, keepalives_count=3)
        self._conn.execute(DDL)

    def try_lead(self) -> bool:
        row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        return bool(row and row[0])

    def position(self) -> int:
        row = self._conn.execute("SELECT position FROM publisher_positions WHERE name = %s",
                                 (self.name,)).fetchone()
        return int(row[0]) if row else 0

    def save(self, position: int) -> None:
        self._conn.execute(UPSERT.format("%s"), (self.name, position))

    def close(self) -> None:
        self._conn.close()  # frees the advisory lock


class SqlitePublisherState:
    def __init__(self, path: str, name: str) -> None:
        self.name = name
        digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:12]
        self._lock_path = Path(f"{path}.publisher-{digest}.lock")
        self._lock_fd: int | None = None
        self._conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(DDL)

    def try_lead(self) -> bool:
        if self._lock_fd is not None:
            return True
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._lock_fd = fd
        return True

    def position(self) -> int:
        row = self._conn.execute("SELECT position FROM publisher_positions WHERE name = ?",
                                 (self.name,)).fetchone()
        return int(row[0]) if row else 0

    def save(self, position: int) -> None:
        self._conn.execute(UPSERT.format("?"), (self.name, position))

    def close(self) -> None:
        self._conn.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # frees the lock
            self._lock_fd = None


def publisher_state(database_url: str, name: str) -> PublisherState:
    if database_url.startswith(("postgresql://", "postgres://")):
        return PostgresPublisherState(database_url, name)
    if database_url.startswith("sqlite:///"):
        return SqlitePublisherState(database_url.removeprefix("sqlite:///"), name)
    raise ValueError("the publisher needs a durable event store: sqlite:///PATH or postgresql://...")
