"""The change log the projections group keeps, and what a ``serve`` replica's follower makes of it:
each look hands on what was committed since the last, per partition, in order, none twice."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from tickets.consumers import change_log, consumer_offsets
from tickets.consumers.change_log import KEEP, PRUNE_EVERY, changes_between, record
from tickets.consumers.consumer_offsets import advance
from tickets.http.read_follower import OVERFLOW, SUBSCRIBER_BACKLOG, Look, ReadFollower, Subscription
from tickets.http.read_models import EmbeddedReads, SharedReads
from tickets.projections.readstore import ReadStore
from tickets.projections.runner import COMMON_DDL
from tickets.wire.envelope import GENESIS, Envelope

GROUP, TOPIC = "projections", "tickets.events"


def envelope(ticket: int, version: int, position: int) -> Envelope:
    return Envelope(ticket_id=str(uuid.UUID(int=ticket)), ticket_number=f"N-{ticket}", desk="web",
                    type="Responded", version=version, occurred_at="2026-03-02T08:00:00.000000Z",
                    recorded_at="2026-03-02T08:00:00.000000Z", position=position, actor="agent:a",
                    channel="api", payload={}, prev_hash=GENESIS, hash="0" * 64)


@pytest.fixture
def store(tmp_path: Path) -> ReadStore:
    made = ReadStore(f"sqlite:///{tmp_path / 'read.sqlite3'}")
    change_log.create_table(made)
    consumer_offsets.create_table(made)
    with made.transaction() as tx:
        for statement in COMMON_DDL:
            tx.execute(statement)
    return made


def commit(store: ReadStore, partition: int, start: int, items: list[Envelope]) -> None:
    """A batch of ``items`` at offsets ``start``... of ``partition``, as the group commits one."""
    moves = {partition: (start or None, start + len(items))}
    with store.transaction() as tx:
        advance(tx, GROUP, TOPIC, moves)
        record(tx, GROUP, TOPIC, items, [(partition, start + i) for i in range(len(items))], moves)


def test_a_batch_keeps_each_envelope_at_its_partition_and_offset(store: ReadStore) -> None:
    commit(store, 2, 0, [envelope(1, 1, 10), envelope(3, 1, 12)])
    with store.snapshot() as tx:
        found = changes_between(tx, GROUP, TOPIC, 2, 0, 5)
        assert changes_between(tx, GROUP, TOPIC, 2, 1, 2) == found[1:]
        assert changes_between(tx, "other", TOPIC, 2, 0, 5) == []
    assert [(c.partition, c.offset, c.number, c.version, c.position) for c in found] == [
        (2, 0, "N-1", 1, 10), (2, 1, "N-3", 1, 12)]


def test_a_partition_keeps_its_last_records_when_it_passes_a_pruning_mark(store: ReadStore) -> None:
    start = KEEP + PRUNE_EVERY - 2
    with store.transaction() as tx:  # old rows far behind, as if written long ago
        for offset in (0, 5, start - KEEP - 1, start - KEEP + 3):
            record(tx, GROUP, TOPIC, [envelope(9, offset + 1, offset)], [(0, offset)], {})
    with store.transaction() as tx:
        record(tx, GROUP, TOPIC, [envelope(1, 1, 1), envelope(1, 2, 2), envelope(1, 3, 3)],
               [(0, start), (0, start + 1), (0, start + 2)], {0: (start, start + 3)})
    with store.snapshot() as tx:
        kept = [c.offset for c in changes_between(tx, GROUP, TOPIC, 0, 0, start + 3)]
    assert kept == [start - KEEP + 3, start, start + 1, start + 2]


def test_a_look_hands_on_what_was_committed_since_the_last_in_partition_order(store: ReadStore) -> None:
    commit(store, 0, 0, [envelope(1, 1, 1)])
    follower = ReadFollower(store, GROUP, TOPIC, mark_interval=0)
    first = follower.look()
    assert first.changes == [] and first.marks == {"projections/0": 1} and first.position == 1
    commit(store, 1, 0, [envelope(2, 1, 2), envelope(2, 2, 4)])
    commit(store, 0, 1, [envelope(1, 2, 3)])
    commit(store, 1, 2, [envelope(2, 3, 5)])
    look = follower.look()
    assert [(c.number, c.version) for c in look.changes] == [("N-1", 2), ("N-2", 1), ("N-2", 2), ("N-2", 3)]
    assert look.marks == {"projections/0": 2, "projections/1": 3} and look.position == 5
    assert follower.look().changes == []
    assert follower.marks() == look.marks  # kept from the look, not read again


def test_the_groups_offsets_are_read_from_the_marks_and_projection_positions_are_not_offsets(
    store: ReadStore,
) -> None:
    commit(store, 0, 0, [envelope(1, 1, 1)])
    commit(store, 2, 0, [envelope(3, 1, 2), envelope(3, 2, 3)])
    with store.transaction() as tx:  # a feed's position beside the group's offsets
        tx.execute("INSERT INTO projection_positions (projection, position) VALUES ('dashboard', 7)")
    reads = SharedReads(store, ["dashboard"], ReadFollower(store, GROUP, TOPIC, mark_interval=0))
    marks = reads.marks()
    assert reads.offsets(marks) == {0: 1, 2: 2}
    assert reads.position(marks) == 3
    other = SharedReads(store, ["dashboard"], ReadFollower(store, "other", TOPIC, mark_interval=0))
    assert other.offsets(other.marks()) == {}  # another group's offsets are not these read models'
    assert EmbeddedReads(store, ["dashboard"]).offsets({"dashboard": 7}) == {}


def test_the_marks_move_at_most_once_an_interval_but_changes_at_once(store: ReadStore) -> None:
    commit(store, 0, 0, [envelope(1, 1, 1)])
    follower = ReadFollower(store, GROUP, TOPIC, mark_interval=60)
    assert follower.look().marks == {"projections/0": 1}  # the first look publishes
    commit(store, 0, 1, [envelope(1, 2, 2)])
    look = follower.look()
    assert [c.version for c in look.changes] == [2]
    assert look.marks == follower.marks() == {"projections/0": 1}  # the ETags stay a while
    assert follower.fresh_marks() == follower.marks() == {"projections/0": 2}  # a read of a write
    follower.mark_interval = 0
    commit(store, 0, 2, [envelope(1, 3, 3)])
    assert follower.look().marks == {"projections/0": 3}


def test_a_change_delivered_twice_is_handed_on_once(store: ReadStore) -> None:
    follower = ReadFollower(store, GROUP, TOPIC, mark_interval=0)
    follower.look()
    commit(store, 0, 0, [envelope(1, 1, 1), envelope(1, 2, 2)])
    assert len(follower.look().changes) == 2
    commit(store, 0, 2, [envelope(1, 2, 2), envelope(1, 3, 3)])  # the publisher sent v2 again
    assert [c.version for c in follower.look().changes] == [3]


def test_offsets_that_went_back_are_said_not_guessed(store: ReadStore) -> None:
    commit(store, 0, 0, [envelope(1, 1, 1), envelope(1, 2, 2)])
    follower = ReadFollower(store, GROUP, TOPIC, mark_interval=0)
    follower.look()
    with store.transaction() as tx:  # a rebuild starts the group again
        tx.execute("UPDATE consumer_offsets SET next_offset = 0")
    look = follower.look()
    assert look.rewound == [0] and look.changes == []


def test_a_subscriber_that_falls_too_far_behind_is_told_to_start_again() -> None:
    async def run() -> list[Look]:
        subscription = Subscription(asyncio.get_running_loop())
        for _ in range(SUBSCRIBER_BACKLOG + 1):
            subscription.deliver(Look({}, 1, []))
        return [await subscription.next(1), await subscription.next(0.01)]

    got = asyncio.run(run())
    assert got[0] is OVERFLOW and got[1] is None
