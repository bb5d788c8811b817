"""A pipelined read-store transaction on PostgreSQL: all or nothing, as a plain one, in fewer round trips."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from tests.servers import PostgresDatabase
from tickets.consumers.consumer_offsets import OffsetsMoved, create_table, send_advance, stored_offsets
from tickets.projections.readstore import ReadStore

pytestmark = pytest.mark.integration


@pytest.fixture
def store(pg_schema: PostgresDatabase) -> Iterator[ReadStore]:
    store = ReadStore(pg_schema.dsn)
    with store.transaction() as tx:
        tx.execute("CREATE TABLE items (k TEXT PRIMARY KEY, n BIGINT NOT NULL)")
    create_table(store)
    try:
        yield store
    finally:
        store.close()


def items(store: ReadStore) -> list[tuple[str, int]]:
    return [(k, int(n)) for k, n in store.read("SELECT k, n FROM items ORDER BY k")]


def test_queued_reads_see_the_writes_queued_before_them_and_the_commit_keeps_both(store: ReadStore) -> None:
    with store.transaction(pipelined=True) as tx:
        assert tx.execute("INSERT INTO items (k, n) VALUES (?, ?)", ("a", 1)) == []
        tx.executemany("INSERT INTO items (k, n) VALUES (?, ?)", [("b", 2), ("c", 3)])
        some = tx.query_in("SELECT k, n FROM items WHERE k {in} ORDER BY k", (), ["a", "c", "z"])
        counted = tx.query("SELECT COUNT(*) FROM items")
        tx.execute("UPDATE items SET n = n + 10 WHERE k = ?", ("b",))
        assert [(k, int(n)) for k, n in some.rows()] == [("a", 1), ("c", 3)]
        assert counted.rows()[0][0] == 3
        assert tx.execute("SELECT n FROM items WHERE k = ?", ("b",)) == [(12,)]
    assert items(store) == [("a", 1), ("b", 12), ("c", 3)]


def test_a_failing_queued_write_rolls_the_whole_transaction_back(store: ReadStore) -> None:
    with store.transaction() as tx:
        tx.execute("INSERT INTO items (k, n) VALUES (?, ?)", ("a", 1))
    with pytest.raises(psycopg.errors.UniqueViolation), store.transaction(pipelined=True) as tx:
        tx.execute("INSERT INTO items (k, n) VALUES (?, ?)", ("b", 2))
        tx.execute("INSERT INTO items (k, n) VALUES (?, ?)", ("a", 3))  # raised by the commit
        tx.execute("INSERT INTO items (k, n) VALUES (?, ?)", ("c", 4))
    assert items(store) == [("a", 1)]
    with store.transaction(pipelined=True) as tx:  # the connection goes on
        tx.execute("INSERT INTO items (k, n) VALUES (?, ?)", ("d", 5))
    assert items(store) == [("a", 1), ("d", 5)]


def test_offsets_moved_elsewhere_roll_back_a_pipelined_batch(store: ReadStore) -> None:
    with store.transaction(pipelined=True) as tx:
        send_advance(tx, "g", "events", {0: (None, 10), 1: (None, 4)})()
    with pytest.raises(OffsetsMoved) as moved, store.transaction(pipelined=True) as tx:
        check = send_advance(tx, "g", "events", {0: (10, 20), 1: (5, 9)})  # partition 1 is at 4
        tx.execute("INSERT INTO items (k, n) VALUES (?, ?)", ("a", 1))
        check()
    assert (moved.value.partition, moved.value.expected) == (1, 5)
    assert items(store) == []
    with store.transaction() as tx:
        assert stored_offsets(tx, "g", "events", [0, 1]) == {0: 10, 1: 4}
