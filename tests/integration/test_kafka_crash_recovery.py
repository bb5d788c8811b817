"""kill -9 of ``tickets publish`` and ``tickets consume`` under a stream of events loses nothing.

A writer streams ticket lives into the PostgreSQL store while both processes run; each is killed
three times at random moments and started again. At the end every projection equals a rebuild
from the store by the embedded feed: no event lost, none applied twice.
"""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest
from cli_processes import Process
from kafka_helpers import (
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
from tickets.kafka_wiring import select_projections
from tickets.projections.readstore import ReadStore
from tickets.sample_lives import write_lives

pytestmark = pytest.mark.integration

LIVES = 200  # 1,400 events
KILLS = 3


def test_killed_publisher_and_consumer_lose_nothing_and_apply_nothing_twice(
    pg_database: PostgresDatabase, postgres_server: PostgresAccess, kafka_broker: KafkaEndpoint,
    kafka_topic_prefix: str, tmp_path: Path,
) -> None:
    env = environment(pg_database.dsn, pg_database.dsn, kafka_broker, kafka_topic_prefix, str(tmp_path))
    settings = settings_of(env)
    create_topics(kafka_broker, kafka_topic_prefix)
    desk = new_desk(settings)
    written: list[int] = []
    writer = threading.Thread(target=lambda: written.append(write_lives(desk, LIVES, interleave=11)))
    writer.start()
    publisher = Process(["publish", "--batch", "50"], env, tmp_path / "publish.log",
                        ready=("publisher_leading", "publisher_standby"))
    consumer = Process(["consume", "--group", "projections"], env, tmp_path / "consume.log",
                       ready=("consumer_started",))
    rng = random.Random(5)
    kills = [("publisher", publisher)] * KILLS + [("consumer", consumer)] * KILLS
    rng.shuffle(kills)
    store = ReadStore(pg_database.dsn)
    wait_until(lambda: count(store, "audit_trail") > 0, 60, "the consumer's first batch")
    for _name, process in kills:
        time.sleep(rng.uniform(0.3, 2.5))
        process.kill()
        time.sleep(rng.uniform(0.0, 0.5))
        process.start()
    writer.join(120)
    total = written[0]
    wait_until(lambda: count(store, "audit_trail") == total, 120, "every event after the kills")
    assert publisher.stop() == 0
    assert consumer.stop() == 0
    projections = select_projections(settings)
    assert projection_rows(store, projections) == rebuild(settings, postgres_server.create_schema().dsn)
    store.close()
    desk.close()
