"""Only one publisher leads; a standby takes over when the leader dies, and no ticket's order breaks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import defaultdict
from pathlib import Path

import msgpack
import pytest
from kafka import KafkaConsumer
from kafka_helpers import create_topics, environment, new_desk, settings_of, wait_until

from tests.servers import TEST_CONSUMER_SETTINGS, KafkaEndpoint, PostgresDatabase
from tickets.consumers.publisher_state import SqlitePublisherState
from tickets.sample_lives import write_lives

pytestmark = pytest.mark.integration


def read_topic(kafka: KafkaEndpoint, topic: str, expected: int) -> list[dict[str, object]]:
    consumer = KafkaConsumer(topic, bootstrap_servers=kafka.bootstrap_servers, **TEST_CONSUMER_SETTINGS)
    values: list[dict[str, object]] = []
    for _ in range(300):
        for records in consumer.poll(timeout_ms=100).values():
            values += [msgpack.unpackb(r.value, raw=False) for r in records]
        if len({(v["ticket_id"], v["version"]) for v in values}) >= expected:
            break
    consumer.close()
    return values


def test_a_standby_publisher_takes_over_when_the_leader_is_killed(
    pg_database: PostgresDatabase, kafka_broker: KafkaEndpoint, kafka_topic_prefix: str, tmp_path: Path,
) -> None:
    env = environment(pg_database.dsn, pg_database.dsn, kafka_broker, kafka_topic_prefix, str(tmp_path))
    settings = settings_of(env)
    create_topics(kafka_broker, kafka_topic_prefix)
    desk = new_desk(settings)
    written = [write_lives(desk, 10, interleave=5)]
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    procs = []
    for log in logs:
        with log.open("wb") as out:
            procs.append(subprocess.Popen([sys.executable, "-m", "tickets.cli", "publish", "--batch", "10"],
                                          env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT))
        wait_until(lambda log=log: b"publisher_" in log.read_bytes(), 30, "the publisher to start")
    leaders = [i for i, log in enumerate(logs) if b"publisher_leading" in log.read_bytes()]
    assert len(leaders) == 1
    leader, standby = procs[leaders[0]], procs[1 - leaders[0]]
    assert b"publisher_standby" in logs[1 - leaders[0]].read_bytes()
    writer = threading.Thread(target=lambda: written.append(write_lives(desk, 15, first=10, interleave=5)))
    writer.start()
    leader.send_signal(signal.SIGKILL)
    leader.wait(10)
    wait_until(lambda: b"publisher_leading" in logs[1 - leaders[0]].read_bytes(), 30, "the standby to lead")
    writer.join(60)
    values = read_topic(kafka_broker, kafka_topic_prefix + "tickets.events", sum(written))
    standby.send_signal(signal.SIGTERM)
    assert standby.wait(30) == 0
    versions: dict[object, list[int]] = defaultdict(list)
    for value in values:
        versions[value["ticket_id"]].append(int(value["version"]))  # type: ignore[call-overload]
    assert sum(len(set(v)) for v in versions.values()) == sum(written)  # nothing lost
    for seen in versions.values():
        firsts = [v for i, v in enumerate(seen) if v not in seen[:i]]
        assert firsts == sorted(firsts)  # each version first arrives after the one before it
    desk.close()


def test_the_embedded_store_admits_one_leader_at_a_time(tmp_path: Path) -> None:
    path = str(tmp_path / "events.sqlite3")
    first, second = SqlitePublisherState(path, "events"), SqlitePublisherState(path, "events")
    assert first.try_lead() and not second.try_lead()
    first.save(42)
    first.close()  # the leader goes: the lock is free
    assert second.try_lead() and second.position() == 42
    second.close()
