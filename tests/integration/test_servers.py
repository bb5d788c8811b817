"""The test servers are real: eventsourcing on PostgreSQL, kafka-python 3 on the broker."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any
from uuid import UUID

import msgpack
import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.serializer import DefaultSerializer, Deserializer, Serializer

from tests.servers import KafkaEndpoint, PostgresAccess, PostgresDatabase

pytestmark = pytest.mark.integration


class Counter(Aggregate):
    @event("Started")
    def __init__(self, name: str) -> None:
        self.name = name
        self.count = 0

    @event("Incremented")
    def increment(self, by: int) -> None:
        self.count += by


class Counters(Application):
    pass


def _save_and_read_back(database: PostgresDatabase) -> UUID:
    writer = Counters(env=database.eventsourcing_env())
    try:
        counter = Counter("calls")
        counter.increment(2)
        counter.increment(3)
        writer.save(counter)
    finally:
        writer.close()

    reader = Counters(env=database.eventsourcing_env())  # a new application: no cache
    try:
        again: Counter = reader.repository.get(counter.id)
        assert (again.name, again.count, again.version) == ("calls", 5, 3)
        notifications = reader.notification_log.select(start=1, limit=10)
        assert [n.topic.rsplit(".", 1)[-1] for n in notifications] == [
            "Started",
            "Incremented",
            "Incremented",
        ]
        assert {n.originator_id for n in notifications} == {counter.id}
    finally:
        reader.close()
    return counter.id


def test_eventsourcing_saves_and_reads_back_on_postgres(pg_database: PostgresDatabase) -> None:
    _save_and_read_back(pg_database)
    with pg_database.connect() as conn:
        rows = conn.execute("SELECT count(*) FROM counters_events WHERE originator_version >= 1").fetchone()
        assert rows == (3,)


def test_eventsourcing_in_a_schema_of_its_own(
    pg_schema: PostgresDatabase, postgres_server: PostgresAccess
) -> None:
    _save_and_read_back(pg_schema)
    with postgres_server.connect() as conn:
        tables = conn.execute(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = %s",
            ("counters_events",),
        ).fetchall()
    assert (pg_schema.schema,) in tables


def test_database_handles_round_trip(postgres_server: PostgresAccess) -> None:
    parsed = PostgresDatabase.from_dsn(postgres_server.dsn)
    assert (parsed.host, parsed.port, parsed.user, parsed.password, parsed.dbname) == (
        postgres_server.host,
        postgres_server.port,
        postgres_server.user,
        postgres_server.password,
        postgres_server.dbname,
    )
    env = postgres_server.eventsourcing_env(schema="s1")
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert env["POSTGRES_PORT"] == str(postgres_server.port)
    assert env["POSTGRES_SCHEMA"] == "s1"
    with parsed.connect() as conn:
        assert conn.execute("SELECT current_database()").fetchone() == (parsed.dbname,)


HEADERS = [("type", b"Incremented"), ("content-type", b"application/msgpack")]


class Msgpack(Serializer, Deserializer):
    """kafka-python 3 (de)serializers are objects that also see the topic and the headers."""

    def serialize(self, topic: str, headers: list[tuple[str, bytes]], data: Any) -> bytes:
        return msgpack.packb(data)

    def deserialize(self, topic: str, headers: list[tuple[str, bytes]], data: bytes) -> Any:
        return msgpack.unpackb(data)


def _send(producer: KafkaProducer, topic: str, seqs: range) -> dict[str, int]:
    """Send one message per seq, keyed by one of six ticket ids; return key -> partition."""
    futures = []
    for seq in seqs:
        key = f"ticket-{seq % 6}"
        value = {"ticket_id": key, "seq": seq, "pad": "x" * 100}
        futures.append((key, producer.send(topic, key=key, value=value, headers=HEADERS)))
    producer.flush(timeout=10)
    placed: dict[str, int] = {}
    for key, future in futures:
        partition = future.get(timeout=10).partition
        assert placed.setdefault(key, partition) == partition, "a key changed partition"
    return placed


def _consume(consumer: KafkaConsumer, expected: int, deadline_s: float = 25.0) -> list[Any]:
    records: list[Any] = []
    deadline = time.monotonic() + deadline_s
    while len(records) < expected and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=200).values():
            records.extend(batch)
    return records


def _consumer(topic: str, group: str, settings: dict[str, Any]) -> KafkaConsumer:
    return KafkaConsumer(
        topic,
        group_id=group,
        key_deserializer=DefaultSerializer(),
        value_deserializer=Msgpack(),
        **settings,
    )


def test_kafka_idempotent_send_consumer_group_commit_and_resume(
    kafka_broker: KafkaEndpoint,
    kafka_topic: Callable[..., str],
    kafka_topic_prefix: str,
    kafka_consumer_settings: dict[str, Any],
) -> None:
    topic = kafka_topic("events", partitions=3)
    group = kafka_topic_prefix + "group"
    assert kafka_consumer_settings["session_timeout_ms"] == 6000
    producer = KafkaProducer(
        bootstrap_servers=kafka_broker.bootstrap_servers,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        key_serializer=DefaultSerializer(),
        value_serializer=Msgpack(),
    )
    try:
        placed = _send(producer, topic, range(30))
        assert len(set(placed.values())) > 1, "six keys all landed on one partition"

        first = _consumer(topic, group, kafka_consumer_settings)
        try:
            records = _consume(first, 30)
            assert sorted(r.value["seq"] for r in records) == list(range(30))
            by_key: dict[str, list[int]] = defaultdict(list)
            last: dict[TopicPartition, int] = {}
            for record in records:
                assert record.key == record.value["ticket_id"]
                assert record.partition == placed[record.key]
                assert record.headers == HEADERS
                by_key[record.key].append(record.value["seq"])
                tp = TopicPartition(record.topic, record.partition)
                last[tp] = max(last.get(tp, -1), record.offset)
            assert all(seqs == sorted(seqs) for seqs in by_key.values()), "order per key"
            first.commit()
            for tp, offset in last.items():
                assert first.committed(tp) == offset + 1
        finally:
            first.close()

        _send(producer, topic, range(30, 42))
    finally:
        producer.close(timeout=10)

    second = _consumer(topic, group, kafka_consumer_settings)
    try:
        resumed = _consume(second, 12)
        time.sleep(0.3)  # anything more would be a redelivery of committed records
        resumed.extend(r for batch in second.poll(timeout_ms=200).values() for r in batch)
        assert sorted(r.value["seq"] for r in resumed) == list(range(30, 42))
        for record in resumed:
            tp = TopicPartition(record.topic, record.partition)
            assert record.offset > last.get(tp, -1)
            assert record.headers == HEADERS
        second.commit()
    finally:
        second.close()
