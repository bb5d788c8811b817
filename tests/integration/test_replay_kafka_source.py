"""Rebuilding from Kafka: tickets.events from offset 0 comes back in the store's order, once each."""

from __future__ import annotations

from pathlib import Path

import pytest
from kafka import KafkaProducer
from kafka_helpers import InThread, create_topics, environment, new_desk, settings_of, wait_until

from tests.servers import KafkaEndpoint, PostgresDatabase
from tickets.consumers.kafka_settings import KafkaSettings, event_headers, ticket_key
from tickets.consumers.store_reader import StoreReader
from tickets.domain.errors import ValidationError
from tickets.kafka_wiring import build_publisher
from tickets.projections.readstore import ReadStore
from tickets.projections_registry import all_projections
from tickets.replay.compare import compare
from tickets.replay.kafka_source import KafkaSource
from tickets.replay.rebuild import rebuild
from tickets.sample_lives import write_lives
from tickets.wire.envelope import Envelope
from tickets.wiring import build_desk

pytestmark = pytest.mark.integration


def _published(pg_database: PostgresDatabase, kafka: KafkaEndpoint, prefix: str, home: Path,
               lives: int = 12) -> tuple[KafkaSettings, list[Envelope]]:
    """A store with ``lives`` ticket lives, all of it published; (settings, the store's envelopes)."""
    settings = settings_of(environment(pg_database.dsn, pg_database.dsn, kafka, prefix, str(home)))
    create_topics(kafka, prefix)
    desk = new_desk(settings)
    write_lives(desk, lives, interleave=4)
    envelopes = StoreReader(desk).read(0, 100_000)
    publisher = InThread(build_publisher(settings, batch_size=25))
    wait_until(lambda: publisher.member.stats.position >= envelopes[-1].position, 60, "the publisher")  # type: ignore[union-attr]
    publisher.halt()
    desk.close()
    return KafkaSettings(kafka.bootstrap_servers, topic_prefix=prefix), envelopes


def _read_all(source: KafkaSource, after: int = 0, limit: int = 7) -> list[Envelope]:
    envelopes: list[Envelope] = []
    while (batch := source.read(after, limit)).end > after:
        envelopes += batch.envelopes
        after = batch.end
    return envelopes


def _key(e: Envelope) -> tuple[int, str, int, str]:
    return (e.position, e.ticket_id, e.version, e.hash)


def test_the_topic_read_from_offset_0_is_the_store_in_log_order(
    pg_database: PostgresDatabase, kafka_broker: KafkaEndpoint, kafka_topic_prefix: str, tmp_path: Path,
) -> None:
    kafka, stored = _published(pg_database, kafka_broker, kafka_topic_prefix, tmp_path)
    source = KafkaSource(kafka, idle_ms=500)
    try:
        assert source.max_position() == stored[-1].position
        assert [_key(e) for e in _read_all(source)] == [_key(e) for e in stored]
        resumed = _read_all(source, after=stored[len(stored) // 2].position)
        assert [_key(e) for e in resumed] == [_key(e) for e in stored[len(stored) // 2 + 1:]]
    finally:
        source.close()
    halves = []
    for part in range(2):
        source = KafkaSource(kafka, (part, 2), idle_ms=500)
        halves.append({_key(e) for e in _read_all(source)})
        source.close()
    assert not halves[0] & halves[1]
    assert halves[0] | halves[1] == {_key(e) for e in stored}


def test_events_a_publisher_sent_twice_come_back_once(
    pg_database: PostgresDatabase, kafka_broker: KafkaEndpoint, kafka_topic_prefix: str, tmp_path: Path,
) -> None:
    kafka, stored = _published(pg_database, kafka_broker, kafka_topic_prefix, tmp_path, lives=4)
    producer = KafkaProducer(**kafka.producer_config())
    for envelope in stored[-10:]:  # a restarted publisher re-sends the tail of its last batch
        producer.send(kafka.topics.events, key=ticket_key(envelope.ticket_id), value=envelope.encode(),
                      headers=event_headers(envelope.type))
    producer.flush()
    producer.close()
    source = KafkaSource(kafka, idle_ms=500)
    try:
        assert [_key(e) for e in _read_all(source)] == [_key(e) for e in stored]
    finally:
        source.close()


def test_a_record_that_is_not_an_envelope_stops_the_rebuild_with_where_it_is(
    pg_database: PostgresDatabase, kafka_broker: KafkaEndpoint, kafka_topic_prefix: str, tmp_path: Path,
) -> None:
    kafka, stored = _published(pg_database, kafka_broker, kafka_topic_prefix, tmp_path, lives=2)
    producer = KafkaProducer(**kafka.producer_config())
    producer.send(kafka.topics.events, key=ticket_key(stored[0].ticket_id), value=b"\xc1 not msgpack")
    producer.flush()
    producer.close()
    with pytest.raises(ValidationError, match=r"partition \d+ offset \d+ is not a ticket event envelope"):
        source = KafkaSource(kafka, idle_ms=500)
        try:
            _read_all(source)
        finally:
            source.close()


def test_a_topic_that_does_not_exist_is_a_clear_error(kafka_broker: KafkaEndpoint) -> None:
    kafka = KafkaSettings(kafka_broker.bootstrap_servers, topic_prefix="no-such-prefix.")
    with pytest.raises(ValidationError, match="does not exist"):
        KafkaSource(kafka, metadata_timeout=2)


def test_a_rebuild_from_kafka_equals_a_rebuild_from_the_store(
    pg_database: PostgresDatabase, kafka_broker: KafkaEndpoint, kafka_topic_prefix: str, tmp_path: Path,
) -> None:
    kafka, stored = _published(pg_database, kafka_broker, kafka_topic_prefix, tmp_path)
    settings = settings_of(environment(pg_database.dsn, pg_database.dsn, kafka_broker, kafka_topic_prefix,
                                       str(tmp_path)))
    desk = build_desk(settings)
    projections = all_projections(desk.catalogue)
    from_store, from_kafka = f"sqlite:///{tmp_path / 'store.db'}", f"sqlite:///{tmp_path / 'kafka.db'}"
    rebuild(desk, projections, from_store, parts=1, progress=False)
    first = rebuild(desk, projections, from_kafka, parts=2, batch_size=20, max_batches=1, progress=False,
                    kafka=kafka)
    assert not first.complete  # interrupted: the second run continues it
    done = rebuild(desk, projections, from_kafka, parts=2, batch_size=20, progress=False, kafka=kafka)
    assert done.complete and done.position == stored[-1].position
    diffs = compare(ReadStore(from_store), ReadStore(from_kafka), projections)
    assert [d.table for d in diffs if not d.same] == []
    assert sum(d.live_rows for d in diffs if d.table == "audit_trail") == len(stored)
    desk.close()
