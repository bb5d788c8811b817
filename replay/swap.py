"""Put a rebuilt read model in the live one's place, keeping the old one beside it.

SQLite: both files are first made self-contained (the write-ahead log checkpointed and switched
off, which needs the only connection: a feed still running makes it fail, and the swap stops
there). The live file is kept as ``<live>.before-rebuild`` (a hard link), and the rebuilt file is
renamed onto the live path with ``os.replace``, which is atomic: a reader opens the old database or
the new one, never a mix. Run it while no feed runs (``tickets run`` stopped); the next start
continues from the rebuilt positions.

PostgreSQL: both URLs must name a schema (``?options=-csearch_path%3Dname``); one transaction
renames the live schema to ``<name>_before_rebuild`` and the rebuilt schema to the live name.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from tickets.domain.errors import ValidationError
from tickets.projections.readstore import ReadStore
from tickets.replay.target import postgres_schema

SUFFIX = ".before-rebuild"


def _settle(path: Path, drop_progress: bool = False) -> None:
    """Checkpoint the file's write-ahead log into it and switch the log off (needs sole access)."""
    conn = sqlite3.connect(path, timeout=1, isolation_level=None)
    try:
        if drop_progress:
            conn.execute("DROP TABLE IF EXISTS rebuild_progress")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        if conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0].lower() != "delete":
            raise sqlite3.OperationalError("database is locked")
    except sqlite3.OperationalError as error:
        raise ValidationError(
            f"{path} is in use ({error}): stop the feed (tickets run) before swapping",
            field="swap", rule="no_feed_running",
        ) from None
    finally:
        conn.close()


def swap_sqlite(rebuilt: Path, live: Path) -> Path | None:
    """Replace ``live`` with ``rebuilt``; return where the old live file was kept (None: there was none)."""
    if rebuilt.resolve() == live.resolve():
        raise ValidationError("the rebuilt and the live database are the same file",
                              field="into", rule="not_the_live_database")
    if live.exists():
        _settle(live)
    _settle(rebuilt, drop_progress=True)
    kept: Path | None = None
    if live.exists():
        kept = live.with_name(live.name + SUFFIX)
        kept.unlink(missing_ok=True)
        os.link(live, kept)
    os.replace(rebuilt, live)
    for leftover in (Path(f"{rebuilt}-wal"), Path(f"{rebuilt}-shm")):
        leftover.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # make the rename itself durable where the platform allows
        fd = os.open(live.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return kept


def swap_postgres(rebuilt_url: str, live_url: str) -> str:
    new, old = postgres_schema(rebuilt_url), postgres_schema(live_url)
    if new is None or old is None or new == old:
        raise ValidationError(
            "a swap on PostgreSQL renames schemas: name a different schema in each URL "
            "(?options=-csearch_path%3Dname)", field="into", rule="schema_per_read_model",
        )
    kept = f"{old}_before_rebuild"
    with ReadStore(rebuilt_url).transaction() as tx:
        tx.execute("DROP TABLE IF EXISTS rebuild_progress")
        tx.execute(f'DROP SCHEMA IF EXISTS "{kept}" CASCADE')
        tx.execute(f'ALTER SCHEMA "{old}" RENAME TO "{kept}"')
        tx.execute(f'ALTER SCHEMA "{new}" RENAME TO "{old}"')
    return kept


def swap(rebuilt_url: str, live_url: str) -> str | None:
    """Swap by the kind of database; return where the old read model was kept."""
    if rebuilt_url.startswith("sqlite:///") and live_url.startswith("sqlite:///"):
        kept = swap_sqlite(Path(rebuilt_url.removeprefix("sqlite:///")),
                           Path(live_url.removeprefix("sqlite:///")))
        return None if kept is None else str(kept)
    if rebuilt_url.startswith("postgres") and live_url.startswith("postgres"):
        return swap_postgres(rebuilt_url, live_url)
    raise ValidationError("the rebuilt and the live read model must be the same kind of database",
                          field="into", rule="same_kind_of_database")
