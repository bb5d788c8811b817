"""Reading read-model tables as plain rows, on SQLite and PostgreSQL alike (for checks and comparisons)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from consumers.readstore import ReadStore


def table_exists(store: ReadStore, table: str) -> bool:
    if store.dialect == "sqlite":
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    else:
        sql = ("SELECT 1 FROM information_schema.tables "
               "WHERE table_schema = current_schema() AND table_name = ?")
    return bool(store.read(sql, (table,)))


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
