"""Tickets written through ``TicketDesk`` reach every projection via publisher → Kafka → consumer group."""

from __future__ import annotations

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
from tickets.projections.audit_trail import trail
from tickets.projections.readstore import READ_MODEL_CHANNEL, ReadStore
from tickets.projections.sla_timers import timers_of
from tickets.sample_lives import write_lives

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_a_tickets_life_reaches_every_projection_through_kafka(
    backend: str, pg_database: PostgresDatabase, postgres_server: PostgresAccess,
    kafka_broker: KafkaEndpoint, kafka_topic_prefix: str, tmp_path: Path,
) -> None:
    if backend == "postgres":
        events_url, read_url = pg_database.dsn, pg_database.dsn
        rebuilt_url = postgres_server.create_schema().dsn
    else:
        events_url = f"sqlite:///{tmp_path / 'events.sqlite3'}"
        read_url = f"sqlite:///{tmp_path / 'read.sqlite3'}"
        rebuilt_url = f"sqlite:///{tmp_path / 'rebuilt.sqlite3'}"
    settings = settings_of(environment(events_url, read_url, kafka_broker, kafka_topic_prefix,
                                       str(tmp_path)))
    create_topics(kafka_broker, kafka_topic_prefix)
    desk = new_desk(settings)
    written = write_lives(desk, 6, interleave=3) + write_lives(desk, 3, first=6, full=False)
    store = ReadStore(read_url)
    publisher = InThread(build_publisher(settings, batch_size=10))
    consumer = InThread(build_consumer(settings, "projections", **FAST))
    try:
        wait_until(lambda: count(store, "audit_trail") == written, 60, "every event in the audit trail")
        later = write_lives(desk, 1, first=20)
        wait_until(lambda: count(store, "audit_trail") == written + later, 30, "events written later")
    finally:
        consumer.halt()
        publisher.halt()
    first = desk.get(next(iter(desk.opened_ticket_ids())))
    entries = trail(store, ticket_id=first.id)
    assert [e.version for e in entries] == list(range(1, first.version + 1))
    assert {t.kind for t in timers_of(store, first.id)}
    assert count(store, "dashboard_tickets") == 10
    projections = select_projections(settings)
    assert projection_rows(store, projections) == rebuild(settings, rebuilt_url)
    offsets = store.read("SELECT partition, next_offset FROM consumer_offsets ORDER BY partition")
    assert sum(o for _, o in offsets) >= written + later  # every record consumed, duplicates allowed
    store.close()
    desk.close()


def test_a_consumer_whose_database_connection_drops_goes_back_to_its_stored_offsets(
    pg_database: PostgresDatabase, postgres_server: PostgresAccess, kafka_broker: KafkaEndpoint,
    kafka_topic_prefix: str, tmp_path: Path,
) -> None:
    read_model = postgres_server.create_database()
    try:
        settings = settings_of(environment(pg_database.dsn, read_model.dsn, kafka_broker,
                                           kafka_topic_prefix, str(tmp_path)))
        create_topics(kafka_broker, kafka_topic_prefix)
        desk = new_desk(settings)
        written = write_lives(desk, 4)
        store = ReadStore(read_model.dsn)
        publisher = InThread(build_publisher(settings, batch_size=5))
        consumer = InThread(build_consumer(settings, "projections", **FAST))
        try:
            wait_until(lambda: count(store, "audit_trail") == written, 60, "the first events")
            with pg_database.connect(autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = %s AND pid <> pg_backend_pid()", (read_model.dbname,))
            store.close()
            written += write_lives(desk, 4, first=10)
            wait_until(lambda: count(store, "audit_trail") == written, 60, "the events after the drop")
        finally:
            consumer.halt()
            publisher.halt()
        assert consumer.member.stats.set_aside == 0
        assert projection_rows(store, select_projections(settings)) == rebuild(
            settings, postgres_server.create_schema().dsn)
        store.close()
        desk.close()
    finally:
        postgres_server.drop_database(read_model.dbname)


def test_each_applied_batch_is_announced_on_postgres_once_its_rows_are_visible(
    pg_database: PostgresDatabase, kafka_broker: KafkaEndpoint, kafka_topic_prefix: str,
    tmp_path: Path,
) -> None:
    settings = settings_of(environment(pg_database.dsn, pg_database.dsn, kafka_broker,
                                       kafka_topic_prefix, str(tmp_path)))
    create_topics(kafka_broker, kafka_topic_prefix)
    desk = new_desk(settings)
    store = ReadStore(pg_database.dsn)
    with pg_database.connect(autocommit=True) as listener:
        listener.execute(f"LISTEN {READ_MODEL_CHANNEL}")
        written = write_lives(desk, 2)
        publisher = InThread(build_publisher(settings, batch_size=5))
        consumer = InThread(build_consumer(settings, "projections", **FAST))
        try:
            seen_at_announcement: list[int] = []
            payloads: set[str] = set()
            for notice in listener.notifies(timeout=60, stop_after=None):
                payloads.add(notice.payload)
                seen_at_announcement.append(count(store, "audit_trail"))
                if seen_at_announcement[-1] == written:
                    break
        finally:
            consumer.halt()
            publisher.halt()
    assert payloads == {consumer.member.group_id}
    assert seen_at_announcement and seen_at_announcement[0] > 0  # rows committed before the notice
    assert seen_at_announcement[-1] == written
    store.close()
    desk.close()
