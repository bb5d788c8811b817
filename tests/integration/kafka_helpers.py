"""What the Kafka pipeline tests share: settings for a test, members in threads, rows to compare."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from tests.servers import KafkaEndpoint
from tickets.application.clock import VirtualClock
from tickets.application.desk import TicketDesk
from tickets.config import Settings, load_settings
from tickets.consumers.feed import EmbeddedFeed
from tickets.consumers.kafka_runner import GroupRunner
from tickets.consumers.publisher import Publisher
from tickets.consumers.store_reader import StoreReader
from tickets.projections.base import Projection
from tickets.projections.readstore import ReadStore
from tickets.projections_registry import all_projections
from tickets.sample_lives import desk_clock_start, register_editors
from tickets.wiring import build_catalogue, build_desk

#: Test-sized group timings (see docs/test-servers.md): a join takes about half the session timeout.
FAST = {"session_timeout_ms": 6000, "heartbeat_interval_ms": 1000, "fetch_max_wait_ms": 20}


def environment(database_url: str, read_model_url: str, kafka: KafkaEndpoint, prefix: str,
                home: str) -> dict[str, str]:
    """The environment a ``tickets`` process of this test runs with."""
    return {
        "TICKETS_HOME": home, "TICKETS_DATABASE_URL": database_url,
        "TICKETS_READ_MODEL_URL": read_model_url, "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "TICKETS_KAFKA_TOPIC_PREFIX": prefix, "TICKETS_KAFKA_SESSION_TIMEOUT_MS": "6000",
        "TICKETS_LOG_FORMAT": "json",
    }


def settings_of(env: dict[str, str]) -> Settings:
    return load_settings(env)


def create_topics(kafka: KafkaEndpoint, prefix: str, partitions: int = 3) -> None:
    kafka.create_topics([prefix + "tickets.events", prefix + "tickets.dlq"], partitions)


def new_desk(settings: Settings) -> TicketDesk:
    desk = build_desk(settings, clock=VirtualClock(desk_clock_start()))
    register_editors(desk)
    return desk


class InThread:
    """A publisher or group runner running in a thread until ``halt``."""

    def __init__(self, member: Publisher | GroupRunner) -> None:
        self.member = member
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.member.run(self.stop)
        except BaseException as error:  # reported by halt()
            self.error = error

    def halt(self, timeout: float = 20) -> None:
        self.stop.set()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the member did not stop"
        if self.error is not None:
            raise self.error


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # tables not made yet
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def count(store: ReadStore, table: str) -> int:
    return int(store.read(f"SELECT COUNT(*) FROM {table}")[0][0])


def projection_rows(store: ReadStore, projections: list[Projection]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every projection table plus the applied versions, sorted, for comparison."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    for table in [t for p in projections for t in p.tables()] + ["projection_versions", "set_aside"]:
        rows[table] = sorted(store.read(f"SELECT * FROM {table}"), key=repr)
    return rows


def rebuild(settings: Settings, read_model_url: str) -> dict[str, list[tuple[Any, ...]]]:
    """The four projections rebuilt by the embedded feed from position 0 into a fresh read store."""
    desk = build_desk(settings)
    projections = all_projections(build_catalogue(settings))
    store = ReadStore(read_model_url)
    try:
        EmbeddedFeed(StoreReader(desk), store, projections, batch_size=1000).catch_up()
        return projection_rows(store, projections)
    finally:
        store.close()
        desk.close()
