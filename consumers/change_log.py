"""What each committed batch changed, kept per partition, for the read side's change streams.

The projections group writes one row per applied envelope (ticket, number, desk, type, version,
store position) keyed by its Kafka partition and offset, in the same transaction as the rows and
the offsets (``consumers.consumer_offsets``). A partition has one writer at a time (the offset
fence), so within a partition rows commit in offset order: a reader that remembers, per
partition, the next offset it has not read yet (``consumer_offsets.next_offset`` tells how far
is committed) misses nothing and sees each ticket's changes in order, however the partitions'
commits interleave. ``tickets serve`` reads it when the group announces a batch
(``READ_MODEL_CHANNEL``).

Old rows go as a partition passes each ``PRUNE_EVERY``-th offset: the last ``KEEP`` records per
partition stay, far more than a reader that was away a few seconds needs to catch up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from tickets.projections.readstore import ReadStore, Tx
from tickets.wire.envelope import Envelope

TABLE = "read_model_changes"
KEEP = 100_000
PRUNE_EVERY = 1_000

DDL = f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    group_id TEXT NOT NULL, topic TEXT NOT NULL, partition BIGINT NOT NULL,
    kafka_offset BIGINT NOT NULL, ticket_id TEXT NOT NULL, ticket_number TEXT NOT NULL,
    desk TEXT NOT NULL, type TEXT NOT NULL, version BIGINT NOT NULL, position BIGINT NOT NULL,
    PRIMARY KEY (group_id, topic, partition, kafka_offset))"""

_INSERT = (
    f"INSERT INTO {TABLE} (group_id, topic, partition, kafka_offset, ticket_id, ticket_number, "
    "desk, type, version, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
_PRUNE = f"DELETE FROM {TABLE} WHERE group_id = ? AND topic = ? AND partition = ? AND kafka_offset < ?"


class Change(NamedTuple):
    """One applied event as the change streams show it."""

    partition: int
    offset: int
    ticket_id: str
    number: str
    desk: str
    type: str
    version: int
    position: int


def create_table(store: ReadStore) -> None:
    with store.transaction() as tx:
        tx.execute(DDL)


def record(tx: Tx, group_id: str, topic: str, envelopes: Sequence[Envelope],
           origins: Sequence[tuple[int, int]], moves: Mapping[int, tuple[int | None, int]]) -> None:
    """Queue the batch's rows (``origins``: each envelope's partition and offset) and the pruning
    of partitions that passed a ``PRUNE_EVERY`` mark (``moves``: partition -> (old, new) offset)."""
    tx.executemany(_INSERT, [
        (group_id, topic, partition, offset, e.ticket_id, e.ticket_number, e.desk, e.type,
         e.version, e.position)
        for e, (partition, offset) in zip(envelopes, origins, strict=True)
    ])
    for partition, (old, new) in sorted(moves.items()):
        if (old or 0) // PRUNE_EVERY != new // PRUNE_EVERY and new > KEEP:
            tx.execute(_PRUNE, (group_id, topic, partition, new - KEEP))


def changes_between(tx: Tx, group_id: str, topic: str, partition: int, start: int, end: int
                    ) -> list[Change]:
    """The changes at offsets ``start`` (included) to ``end`` (excluded) of a partition, in order."""
    rows = tx.execute(
        f"SELECT partition, kafka_offset, ticket_id, ticket_number, desk, type, version, position "
        f"FROM {TABLE} WHERE group_id = ? AND topic = ? AND partition = ? AND kafka_offset >= ? "
        "AND kafka_offset < ? ORDER BY kafka_offset", (group_id, topic, partition, start, end),
    )
    return [Change(int(p), int(o), str(t), str(n), str(d), str(k), int(v), int(pos))
            for p, o, t, n, d, k, v, pos in rows]
