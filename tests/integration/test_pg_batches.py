"""The PostgreSQL read store's batched ``executemany`` gives what row-by-row statements give."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import pytest

from tests.servers import PostgresDatabase
from tickets.projections.readstore import ReadStore

pytestmark = pytest.mark.integration

TABLE = """CREATE TABLE IF NOT EXISTS counts (
    kind TEXT NOT NULL, key TEXT NOT NULL, n BIGINT NOT NULL, share DOUBLE PRECISION NULL,
    PRIMARY KEY (kind, key))"""
UPSERT_ADD = ("INSERT INTO counts (kind, key, n, share) VALUES (?, ?, ?, ?) "
              "ON CONFLICT (kind, key) DO UPDATE SET n = counts.n + excluded.n, share = excluded.share")
UPSERT_SET = ("INSERT INTO counts (kind, key, n, share) VALUES (?, ?, ?, ?) "
              "ON CONFLICT (kind, key) DO UPDATE SET n = excluded.n, share = excluded.share")
INSERT_KEEP = "INSERT INTO counts (kind, key, n, share) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"
DELETE = "DELETE FROM counts WHERE kind = ? AND key = ?"
DELETE_ZERO = "DELETE FROM counts WHERE kind = ? AND key = ? AND n = 0"
ROWS: list[tuple[Any, ...]] = [
    ("a", "x", 1, 0.5), ("a", "y", 2, None), ("a", "x", 3, 1), ("b", "x", 4, 2.25),
    ("a", "x", 5, 0.0), ("b", "y", 6, None), ("a", "y", 7, 3),
]


def run(store: ReadStore, statements: list[tuple[str, list[tuple[Any, ...]]]], batched: bool) -> list[Any]:
    with store.transaction() as tx:
        tx.execute("DROP TABLE IF EXISTS counts")
        tx.execute(TABLE)
        for sql, rows in statements:
            if batched:
                tx.executemany(sql, rows)
            else:
                for row in rows:
                    tx.execute(sql, row)
        return tx.execute("SELECT kind, key, n, share FROM counts ORDER BY kind, key")


@pytest.mark.parametrize("statements", [
    [(UPSERT_ADD, ROWS)],
    [(UPSERT_SET, ROWS)],
    [(INSERT_KEEP, ROWS)],
    [(UPSERT_ADD, ROWS), (DELETE, [("a", "x"), ("b", "y"), ("a", "x")]), (UPSERT_SET, ROWS[:2])],
    [(INSERT_KEEP, [(f"k{i % 7}", str(i), i, i / 3) for i in range(3000)])],
    [(UPSERT_ADD, [*ROWS, ("a", "y", -9, None)]), (DELETE_ZERO, [("a", "y"), ("a", "x")])],
], ids=["add", "set", "keep-first", "delete", "many", "delete-where-zero"])
def test_batched_statements_match_row_by_row(pg_database: PostgresDatabase, statements: Any) -> None:
    store = ReadStore(pg_database.dsn)
    try:
        assert run(store, statements, batched=True) == run(store, statements, batched=False)
    finally:
        store.close()


def test_values_of_other_types_fall_back_to_row_by_row(pg_database: PostgresDatabase) -> None:
    store = ReadStore(pg_database.dsn)
    try:
        with store.transaction() as tx:
            tx.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT NULL)")
            tx.executemany("INSERT INTO t (k, v) VALUES (?, ?)", [("a", "1"), ("b", 2), ("c", None)])
        assert store.read("SELECT k, v FROM t ORDER BY k") == [("a", "1"), ("b", "2"), ("c", None)]
    finally:
        store.close()


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


def test_text_subclasses_are_batched_as_their_text(pg_database: PostgresDatabase) -> None:
    rows = [(Colour.RED, "x", 1, None), ("a", Colour.BLUE, 2, 0.5), (Colour.RED, "x", 3, 1)]
    store = ReadStore(pg_database.dsn)
    try:
        batched = run(store, [(UPSERT_ADD, rows)], batched=True)
        assert batched == run(store, [(UPSERT_ADD, rows)], batched=False)
        assert {type(row[0]) for row in batched} == {str}
    finally:
        store.close()


def test_nulls_and_text_beyond_ascii_are_batched_as_row_by_row(pg_database: PostgresDatabase) -> None:
    rows: list[tuple[Any, ...]] = [("ä", "x", 1, None), ("a", "✓ done", -(2**63), 1e-300),
                                   ("a", "", 2**63 - 1, float(2**60)), ("b", "𝄞", 0, -0.0)]
    store = ReadStore(pg_database.dsn)
    try:
        statements = [(UPSERT_SET, rows), (DELETE, [("a", ""), ("zz", "none")])]
        assert run(store, statements, batched=True) == run(store, statements, batched=False)
    finally:
        store.close()


@pytest.mark.parametrize("row", [("a", "nul \x00 inside", 1, None), ("a", "x", 2**63, None)],
                         ids=["nul-in-text", "beyond-bigint"])
def test_values_postgresql_refuses_fail_as_they_do_row_by_row(pg_database: PostgresDatabase,
                                                              row: tuple[Any, ...]) -> None:
    store = ReadStore(pg_database.dsn)
    errors = []
    try:
        for batched in (True, False):
            with pytest.raises(Exception) as raised:
                run(store, [(UPSERT_SET, [("a", "ok", 1, 0.5), row])], batched=batched)
            errors.append(type(raised.value))
        assert errors[0] is errors[1]
    finally:
        store.close()
