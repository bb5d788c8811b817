"""The embedded event store: eventsourcing's SQLite recorder with a chosen ``synchronous`` level.

SQLite in WAL mode with ``synchronous=FULL`` (its default) syncs the disk on every commit, which
caps a desk at a few hundred commands a second. ``NORMAL`` (this engine's default for the embedded
store) syncs at checkpoints instead: a committed event survives a crash or kill of the process, and
may be lost only if the operating system or the power fails within the last moments before a
checkpoint. Set ``TICKETS_SQLITE_SYNCHRONOUS=FULL`` to sync every commit; run PostgreSQL where
every commit must survive a power cut.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.sqlite import SQLiteFactory
from eventsourcing.utils import Environment, EnvType

from tickets.config import SQLITE_SYNCHRONOUS, checked

SYNCHRONOUS = "SQLITE_SYNCHRONOUS"


class TicketsSQLiteFactory(SQLiteFactory):
    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        # Checked again here, for an environment made without ``tickets.config`` (the rule is its).
        level = checked(SYNCHRONOUS, SQLITE_SYNCHRONOUS.parse, self.env.get(SYNCHRONOUS) or "NORMAL")
        pool: Any = self.datastore.pool
        create = pool._create_connection

        def create_with_level() -> Any:
            connection = create()
            connection._sqlite_conn.execute(f"PRAGMA synchronous={level}")
            return connection

        pool._create_connection = create_with_level
