"""The topic can be read with plain msgpack: the decoding below uses nothing of this project.

The events are published by the project's publisher; everything after that uses only
kafka-python and msgpack, as a consumer in another codebase would (docs/envelope.md).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from pathlib import Path

import msgpack
import pytest
from kafka import KafkaConsumer
from kafka_helpers import InThread, create_topics, environment, new_desk, settings_of

from tests.servers import TEST_CONSUMER_SETTINGS, KafkaEndpoint, PostgresDatabase
from tickets.kafka_wiring import build_publisher
from tickets.sample_lives import write_lives

pytestmark = pytest.mark.integration

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
FIELDS = {"ticket_id": str, "ticket_number": str, "desk": str, "type": str, "version": int,
          "schema": int, "occurred_at": str, "recorded_at": str, "position": int, "actor": str,
          "channel": str, "payload": dict, "prev_hash": str, "hash": str}

#: What the hash covers: everything but the transport fields (schema, position) and the hashes.
HASHED = {"ticket_id", "ticket_number", "desk", "type", "version", "occurred_at", "recorded_at",
          "actor", "channel", "payload"}


def test_every_record_decodes_with_plain_msgpack(
    pg_database: PostgresDatabase, kafka_broker: KafkaEndpoint, kafka_topic_prefix: str, tmp_path: Path,
) -> None:
    env = environment(pg_database.dsn, pg_database.dsn, kafka_broker, kafka_topic_prefix, str(tmp_path))
    settings = settings_of(env)
    create_topics(kafka_broker, kafka_topic_prefix)
    desk = new_desk(settings)
    written = write_lives(desk, 2)
    publisher = InThread(build_publisher(settings))
    consumer = KafkaConsumer(kafka_topic_prefix + "tickets.events",
                             bootstrap_servers=kafka_broker.bootstrap_servers, **TEST_CONSUMER_SETTINGS)
    records = []
    try:
        for _ in range(300):
            for batch in consumer.poll(timeout_ms=100).values():
                records += batch
            if len(records) >= written:
                break
    finally:
        consumer.close()
        publisher.halt()
        desk.close()
    assert len(records) == written
    chains: dict[str, str] = {}
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        event = msgpack.unpackb(record.value, raw=False)
        assert set(event) >= set(FIELDS)
        for name, kind in FIELDS.items():
            assert isinstance(event[name], kind), name
        assert str(uuid.UUID(event["ticket_id"])) == event["ticket_id"]
        assert record.key == event["ticket_id"].encode("ascii")
        assert TIME.match(event["occurred_at"]) and TIME.match(event["recorded_at"])
        assert event["schema"] == 1
        headers = dict(record.headers)
        assert headers["type"].decode() == event["type"]
        assert headers["content-type"] == b"application/msgpack; schema=ticket-event-v1"
        assert event["prev_hash"] == chains.get(event["ticket_id"], "0" * 64)
        content = {k: v for k, v in event.items() if k in HASHED}
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert event["hash"] == hashlib.sha256((event["prev_hash"] + canonical).encode()).hexdigest()
        chains[event["ticket_id"]] = event["hash"]
        if event["type"] == "Opened":
            assert event["version"] == 1 and "desk" in event["payload"]
