"""Reading read-model tables as plain rows, on SQLite and PostgreSQL alike (for checks and comparisons)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from tickets.projections.readstore import ReadStore


def table_exists(store: ReadStore, table: str) -> bool:
    if store.dialect == "sqlite":
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    else:
        sql = ("SELECT 1 FROM information_schema.tables "
               "WHERE table_schema = current_schema() AND table_name = ?")
    return bool(store.read(sql, (table,)))


def text_columns(store: ReadStore, table: str) -> set[str]:
    """Columns holding text (PostgreSQL; on SQLite every comparison is by code point anyway)."""
    if store.dialect == "sqlite":
        return set()
    return {row[0] for row in store.read(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = ? AND data_type IN ('text', 'character varying')", (table,))}


def column_names(store: ReadStore, table: str) -> list[str]:
    if store.dialect == "sqlite":
        return [row[1] for row in store.read(f"PRAGMA table_info({table})")]
    return [row[0] for row in store.read(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = ? ORDER BY ordinal_position", (table,))]


def select_in(store: ReadStore, sql: str, ids: Sequence[str], chunk: int = 500) -> list[tuple[Any, ...]]:
    """Run ``sql`` (holding one ``IN ({marks})``) for ``ids``, ``chunk`` ids per query."""
    rows: list[tuple[Any, ...]] = []
    for start in range(0, len(ids), chunk):
        part = ids[start:start + chunk]
        rows += store.read(sql.format(marks=",".join("?" * len(part))), part)
    return rows


def primary_key(store: ReadStore, table: str) -> list[str]:
    if store.dialect == "sqlite":
        info = store.read(f"PRAGMA table_info({table})")
        return [row[1] for row in sorted(info, key=lambda r: r[5]) if row[5]]
    return [row[0] for row in store.read(
        "SELECT k.column_name FROM information_schema.table_constraints c "
        "JOIN information_schema.key_column_usage k ON c.constraint_name = k.constraint_name "
        "AND c.table_schema = k.table_schema AND c.table_name = k.table_name "
        "WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_schema = current_schema() "
        "AND c.table_name = ? ORDER BY k.ordinal_position", (table,))]


def stream(
    store: ReadStore, sql: str, params: Sequence[Any] = (), size: int = 5000
) -> Iterator[tuple[Any, ...]]:
    """Rows of a query as they come, on a connection of its own (for tables too big to hold)."""
    if store.dialect == "sqlite":
        conn = sqlite3.connect(store.url.removeprefix("sqlite:///"), timeout=30)
        try:
            cursor = conn.execute(sql, tuple(params))
            while rows := cursor.fetchmany(size):
                yield from rows
        finally:
            conn.close()
        return
    import psycopg

    with psycopg.connect(store.url) as pg, pg.cursor(name="replay_stream") as named:
        named.itersize = size
        named.execute(sql.replace("?", "%s"), tuple(params))
        yield from named
