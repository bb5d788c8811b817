"""kill -9 of ``tickets publish`` and ``tickets consume`` under a stream of events loses nothing.

A writer streams ticket lives into the PostgreSQL store while both processes run; each is killed
three times at random moments and started again. At the end every projection equals a rebuild
from the store by the embedded feed: no event lost, none applied twice.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
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


class Process:
    """``tickets COMMAND`` as a subprocess, restartable, its log kept in a file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path, ready: tuple[str, ...]) -> None:
        self.args = args
        self.env = {**os.environ, **env}
        self.log = log
        self.ready = ready  # log events that say its stop signals are installed
        self.log_offset = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def is_running(self) -> bool:
        """The latest start has logged one of its ``ready`` events."""
        with self.log.open("rb") as log:
            log.seek(self.log_offset)
            text = log.read().decode(errors="replace")
        return any(f'"{event}"' in text for event in self.ready)

    def start(self) -> None:
        self.log_offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "tickets.cli", *self.args],
                                         env=self.env, stdout=out, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        assert self.proc is not None
        assert self.proc.poll() is None, f"{self.args[0]} died on its own; see {self.log}"
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        """SIGTERM once it is running (a signal during start-up would find no handler yet)."""
        assert self.proc is not None
        wait_until(self.is_running, 60, f"{self.args[0]} to start")
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(30)


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
