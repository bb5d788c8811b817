"""Two consumers of one group share the partitions, hand them over, and apply every event once."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from kafka_helpers import (
    FAST,
    InThread,
    count,
    create_topics,
    environment,
    new_desk,
    projection_rows,
    rebuild,
    settings_of,
    wait_until,
)

from tests.servers import KafkaEndpoint, PostgresAccess, PostgresDatabase
from tickets.kafka_wiring import build_consumer, build_publisher, select_projections
from tickets.projections.readstore import ReadStore
from tickets.sample_lives import write_lives

pytestmark = pytest.mark.integration


def test_two_members_share_partitions_and_survive_a_rebalance(
    pg_database: PostgresDatabase, postgres_server: PostgresAccess, kafka_broker: KafkaEndpoint,
    kafka_topic_prefix: str, tmp_path: Path,
) -> None:
    env = environment(pg_database.dsn, pg_database.dsn, kafka_broker, kafka_topic_prefix, str(tmp_path))
    settings = settings_of(env)
    create_topics(kafka_broker, kafka_topic_prefix)
    desk = new_desk(settings)
    store = ReadStore(pg_database.dsn)
    written = [write_lives(desk, 20, interleave=5)]
    publisher = InThread(build_publisher(settings, batch_size=20))
    first = InThread(build_consumer(settings, "projections", **FAST))
    wait_until(lambda: count(store, "audit_trail") == written[0], 60, "the first member alone")
    writer = threading.Thread(target=lambda: written.append(write_lives(desk, 30, first=20, interleave=6)))
    writer.start()
    second = InThread(build_consumer(settings, "projections", **FAST))
    second_runner = second.member
    wait_until(lambda: len(second_runner.owned()) > 0 and len(first.member.owned()) > 0, 60,
               "both members to own partitions")
    assert first.member.owned().isdisjoint(second_runner.owned())
    first.halt()  # leaves the group: the second takes every partition
    writer.join(120)
    written.append(write_lives(desk, 5, first=50))
    total = sum(written)
    wait_until(lambda: count(store, "audit_trail") == total, 90, "every event after the rebalance")
    wait_until(lambda: len(second_runner.owned()) == 3, 30, "the second member to own all partitions")
    second.halt()
    publisher.halt()
    assert first.member.stats.events > 0 and second_runner.stats.events > 0
    assert first.member.stats.set_aside == second_runner.stats.set_aside == 0
    projections = select_projections(settings)
    assert projection_rows(store, projections) == rebuild(settings, postgres_server.create_schema().dsn)
    store.close()
    desk.close()
