"""Consumed Kafka offsets, kept in the read store beside the projection rows they produced.

The read store, not Kafka, says how far a consumer group has got: each batch writes its projection
rows and the next offsets of its partitions in one transaction, so a crash leaves both or neither.

Writing an offset is also a fence. ``advance`` moves a partition's offset only from the value this
member read when it was assigned the partition (or last advanced it); the row lock makes a second
writer wait, and then its condition fails. So a member that was dropped from the group without
knowing it (a long pause, a lost session) cannot apply a batch that the partition's new owner has
applied already: its transaction rolls back with ``OffsetsMoved`` and it re-reads the offsets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from tickets.projections.readstore import Pending, ReadStore, Tx

DDL = """CREATE TABLE IF NOT EXISTS consumer_offsets (
    group_id TEXT NOT NULL, topic TEXT NOT NULL, partition BIGINT NOT NULL,
    next_offset BIGINT NOT NULL, PRIMARY KEY (group_id, topic, partition))"""


class OffsetsMoved(Exception):
    """Another member advanced a partition this member thought it owned; nothing was written."""

    def __init__(self, partition: int, expected: int | None) -> None:
        super().__init__(f"partition {partition} moved past offset {expected}")
        self.partition = partition
        self.expected = expected


def create_table(store: ReadStore) -> None:
    with store.transaction() as tx:
        tx.execute(DDL)


def stored_offsets(tx: Tx, group_id: str, topic: str, partitions: Iterable[int]) -> dict[int, int]:
    """The next offset to consume per partition, for the partitions that have one."""
    wanted = sorted(set(partitions))
    if not wanted:
        return {}
    marks = ",".join("?" * len(wanted))
    rows = tx.execute(
        "SELECT partition, next_offset FROM consumer_offsets "
        f"WHERE group_id = ? AND topic = ? AND partition IN ({marks})", (group_id, topic, *wanted),
    )
    return {int(p): int(o) for p, o in rows}


def advance(tx: Tx, group_id: str, topic: str, moves: Mapping[int, tuple[int | None, int]]) -> None:
    """Set each partition's next offset: ``{partition: (expected now or None, new)}``.

    Raises ``OffsetsMoved`` (the caller rolls back) when a stored offset is not the expected one.
    """
    send_advance(tx, group_id, topic, moves)()


def send_advance(
    tx: Tx, group_id: str, topic: str, moves: Mapping[int, tuple[int | None, int]]
) -> Callable[[], None]:
    """``advance``, its statements sent now and checked by the function returned.

    In a pipelined transaction the statements go with the batch's reads, and the check waits for
    their results; call it before writing anything else. Partitions are written in order, so two
    members never wait on each other in a cycle.
    """
    sent: list[tuple[int, int | None, Pending]] = []
    for partition in sorted(moves):
        expected, new = moves[partition]
        if expected is None:
            done = tx.query(
                "INSERT INTO consumer_offsets (group_id, topic, partition, next_offset) "
                "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING partition",
                (group_id, topic, partition, new),
            )
        else:
            done = tx.query(
                "UPDATE consumer_offsets SET next_offset = ? WHERE group_id = ? AND topic = ? "
                "AND partition = ? AND next_offset = ? RETURNING partition",
                (new, group_id, topic, partition, expected),
            )
        sent.append((partition, expected, done))

    def check() -> None:
        for partition, expected, done in sent:
            if not done.rows():
                raise OffsetsMoved(partition, expected)

    return check
