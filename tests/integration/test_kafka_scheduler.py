"""Two scheduler group members split the partitions: every due timer fires once, on its owner."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kafka_helpers import FAST, InThread, count, create_topics, environment, new_desk, settings_of, wait_until

from tests.servers import KafkaEndpoint, PostgresDatabase
from tickets.application.clock import VirtualClock
from tickets.consumers.kafka_settings import partition_for, ticket_key
from tickets.consumers.partition_scheduler import PartitionScheduler
from tickets.consumers.scheduler import Fired
from tickets.kafka_wiring import build_publisher, build_scheduler_member
from tickets.projections.readstore import ReadStore
from tickets.sample_lives import write_lives

pytestmark = pytest.mark.integration

OPEN_LIVES = 12  # each ends waiting on the customer: warn, then close for no reply


def recording(scheduler: PartitionScheduler, into: list[tuple[Fired, frozenset[int]]]) -> None:
    tick = scheduler.tick

    def recorded(partitions, now=None):  # type: ignore[no-untyped-def]
        owned = frozenset(partitions)
        fired = tick(owned, now)
        into.extend((f, owned) for f in fired)
        return fired

    scheduler.tick = recorded  # type: ignore[method-assign]


def test_two_scheduler_members_fire_each_timer_once(
    pg_database: PostgresDatabase, kafka_broker: KafkaEndpoint, kafka_topic_prefix: str, tmp_path: Path,
) -> None:
    env = environment(pg_database.dsn, pg_database.dsn, kafka_broker, kafka_topic_prefix, str(tmp_path))
    settings = settings_of(env)
    create_topics(kafka_broker, kafka_topic_prefix)
    desk = new_desk(settings)
    written = write_lives(desk, OPEN_LIVES, full=False)
    clock = VirtualClock(datetime(2026, 3, 1, tzinfo=UTC))  # before every event: nothing due yet
    store = ReadStore(pg_database.dsn)
    publisher = InThread(build_publisher(settings, batch_size=10))
    fired: list[list[tuple[Fired, frozenset[int]]]] = [[], []]
    members = []
    for log in fired:
        runner, scheduler = build_scheduler_member(settings, clock, tick_every=0.2, **FAST)
        recording(scheduler, log)
        members.append(InThread(runner))
    try:
        wait_until(lambda: all(m.member.owned() for m in members), 60, "both members to own partitions")
        wait_until(lambda: count(store, "scheduler_timer_facts") == OPEN_LIVES, 30, "every ticket's timers")
        clock.set(datetime(2027, 1, 1, tzinfo=UTC))  # every auto-close countdown is over
        wait_until(lambda: count(store, "scheduler_actions") == 0, 60, "every ticket to be closed")
    finally:
        for member in members:
            member.halt()
        publisher.halt()
    sent = Counter((f.ticket_id, f.action) for log in fired for f, _ in log if f.outcome == "fired")
    assert set(sent.values()) == {1}
    assert Counter(action for _, action in sent.elements()) == {"warn_auto_close": OPEN_LIVES,
                                                                  "close_no_reply": OPEN_LIVES}
    assert all(fired), "each member fired the timers of its own partitions"
    for log in fired:
        for f, owned in log:
            assert partition_for(ticket_key(f.ticket_id), 3) in owned
    assert written == OPEN_LIVES * 4
    assert all(desk.get(t).status == "closed" for t in desk.opened_ticket_ids())
    store.close()
    desk.close()
