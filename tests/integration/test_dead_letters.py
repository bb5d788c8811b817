"""A record that is not an envelope goes to ``tickets.dlq`` with its reason; later events still apply."""

from __future__ import annotations

from pathlib import Path

import msgpack
import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka_helpers import FAST, InThread, count, create_topics, environment, new_desk, settings_of, wait_until

from tests.servers import TEST_CONSUMER_SETTINGS, KafkaEndpoint, PostgresDatabase
from tickets.kafka_wiring import build_consumer, build_publisher
from tickets.projections.readstore import ReadStore
from tickets.sample_lives import write_lives

pytestmark = pytest.mark.integration

POISON_KEY = b"00000000-0000-4000-8000-000000000000"


def test_a_poison_record_lands_on_the_dlq_and_the_loop_goes_on(
    pg_database: PostgresDatabase, kafka_broker: KafkaEndpoint, kafka_topic_prefix: str,
    tmp_path: Path,
) -> None:
    env = environment(pg_database.dsn, pg_database.dsn, kafka_broker, kafka_topic_prefix, str(tmp_path))
    settings = settings_of(env)
    create_topics(kafka_broker, kafka_topic_prefix)
    events = kafka_topic_prefix + "tickets.events"
    producer = KafkaProducer(bootstrap_servers=kafka_broker.bootstrap_servers)
    poison = [
        producer.send(events, key=POISON_KEY, value=b"\xc1 not msgpack", headers=[("type", b"Opened")]),
        producer.send(events, key=POISON_KEY, value=msgpack.packb({"ticket_id": "x"})),
    ]
    producer.flush()
    sent = [f.get(10) for f in poison]
    producer.close()
    desk = new_desk(settings)
    written = write_lives(desk, 4)
    store = ReadStore(pg_database.dsn)
    publisher = InThread(build_publisher(settings))
    consumer = InThread(build_consumer(settings, "projections", **FAST))
    try:
        wait_until(lambda: count(store, "audit_trail") == written, 60, "the events after the poison")
    finally:
        consumer.halt()
        publisher.halt()
    assert consumer.member.stats.dead_letters == 2
    dlq = KafkaConsumer(kafka_topic_prefix + "tickets.dlq", bootstrap_servers=kafka_broker.bootstrap_servers,
                        **TEST_CONSUMER_SETTINGS)
    letters = []
    for _ in range(100):
        for records in dlq.poll(timeout_ms=200).values():
            letters += records
        if len(letters) >= 2:
            break
    dlq.close()
    assert len(letters) == 2
    first = msgpack.unpackb(letters[0].value, raw=False)
    assert first["value"] == b"\xc1 not msgpack" and first["key"] == POISON_KEY
    assert first["reason"].startswith("not msgpack")
    assert (first["topic"], first["partition"], first["offset"]) == (events, sent[0].partition,
                                                                     sent[0].offset)
    assert "missing fields" in msgpack.unpackb(letters[1].value, raw=False)["reason"]
    headers = dict(letters[0].headers)
    assert headers["dlq-reason"].startswith(b"not msgpack") and headers["type"] == b"Opened"
    partition = sent[0].partition
    stored = store.read("SELECT next_offset FROM consumer_offsets WHERE partition = ?", (partition,))
    assert stored[0][0] > sent[1].offset  # the poison's offsets were consumed with the batch
    store.close()
    desk.close()
