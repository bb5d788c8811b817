"""The Kafka edges' pure parts: keys and partitions, sorting a polled batch, stored offsets as a fence."""

from __future__ import annotations

import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import msgpack
import pytest
from kafka import TopicPartition
from kafka.partitioner import DefaultPartitioner

from tickets.consumers.consumer_offsets import OffsetsMoved, advance, create_table, stored_offsets
from tickets.consumers.dead_letters import decode_dead_letter
from tickets.consumers.kafka_batch import sort_records
from tickets.consumers.kafka_settings import KafkaSettings, TicketPartitioner, partition_for, ticket_key
from tickets.projections.readstore import ReadStore
from tickets.wire.envelope import GENESIS, Envelope


class Cluster:
    def __init__(self, partitions: int) -> None:
        self.partitions = set(range(partitions))

    def topics(self) -> set[str]:
        return {"t"}

    def partitions_for_topic(self, topic: str) -> set[int]:
        return self.partitions

    def available_partitions_for_topic(self, topic: str) -> set[int]:
        return self.partitions


def test_tickets_land_where_kafka_pythons_default_partitioner_puts_them() -> None:
    default, ours = DefaultPartitioner(), TicketPartitioner()
    for n in (1, 3, 12):
        for _ in range(100):
            key = ticket_key(uuid.uuid4())
            expected = default.partition("t", key, key, None, None, Cluster(n))
            assert ours.partition("t", key, key, None, None, Cluster(n)) == expected
            assert partition_for(key, n) == expected


def test_a_ticket_key_is_its_canonical_uuid_text() -> None:
    ticket = uuid.UUID("672E4940-4DD6-5BCF-8CB4-9AE0F13981D7")
    assert ticket_key(ticket) == ticket_key(str(ticket).upper()) == b"672e4940-4dd6-5bcf-8cb4-9ae0f13981d7"


def test_topics_carry_the_prefix_and_clients_never_auto_commit() -> None:
    settings = KafkaSettings("a:9092,b:9092", topic_prefix="test.")
    assert settings.topics.all() == ("test.tickets.events", "test.tickets.dlq", "test.tickets.intake",
                                     "test.tickets.intake.results")
    producer = settings.producer_config()
    assert producer["enable_idempotence"] and producer["acks"] == "all"
    assert producer["bootstrap_servers"] == ["a:9092", "b:9092"]
    consumer = settings.consumer_config("g", session_timeout_ms=6000)
    assert consumer["enable_auto_commit"] is False and consumer["session_timeout_ms"] == 6000


def envelope(version: int) -> Envelope:
    return Envelope(ticket_id=str(uuid.UUID(int=1)), ticket_number="N-1", desk="web", type="Responded",
                    version=version, occurred_at="2026-03-02T08:00:00.000000Z",
                    recorded_at="2026-03-02T08:00:00.000000Z", position=version, actor="agent:a",
                    channel="api", payload={}, prev_hash=GENESIS, hash="0" * 64)


def record(partition: int, offset: int, value: bytes | None) -> Any:
    return SimpleNamespace(topic="events", partition=partition, offset=offset, timestamp=5, key=b"k",
                           value=value, headers=[("type", b"Opened")])


def test_a_polled_batch_keeps_envelopes_sets_poison_apart_and_moves_every_offset() -> None:
    polled = {
        TopicPartition("events", 0): [record(0, 7, envelope(1).encode()), record(0, 8, b"\xc1"),
                                        record(0, 9, envelope(2).encode())],
        TopicPartition("events", 2): [record(2, 3, None)],
    }
    batch = sort_records(polled)
    assert [e.version for e in batch.envelopes] == [1, 2]
    assert [(d.partition, d.offset) for d in batch.dead] == [(0, 8), (2, 3)]
    assert batch.next_offsets == {0: 10, 2: 4} and batch.records == 4
    sent = batch.dead[0].record("g")
    letter = decode_dead_letter(sent.value)
    assert letter["value"] == b"\xc1" and letter["offset"] == 8 and letter["reason"].startswith("not msgpack")
    assert letter["value_truncated"] is False and letter["value_size"] == 1
    headers = dict(sent.headers)
    assert headers["type"] == b"Opened" and b"dead-letter" in headers["content-type"]
    assert msgpack.unpackb(batch.dead[1].record("g").value)["value"] is None


def test_stored_offsets_move_only_from_what_the_member_last_saw(tmp_path: Path) -> None:
    store = ReadStore(f"sqlite:///{tmp_path / 'read.sqlite3'}")
    create_table(store)
    with store.transaction() as tx:
        advance(tx, "g", "events", {0: (None, 10), 1: (None, 4)})
    with store.transaction() as tx:
        advance(tx, "g", "events", {0: (10, 25)})
    with pytest.raises(OffsetsMoved), store.transaction() as tx:
        advance(tx, "g", "events", {1: (4, 9), 0: (10, 30)})  # another member moved partition 0
    with pytest.raises(OffsetsMoved), store.transaction() as tx:
        advance(tx, "g", "events", {1: (None, 9)})  # a row exists already
    with store.transaction() as tx:
        assert stored_offsets(tx, "g", "events", [0, 1, 2]) == {0: 25, 1: 4}  # the failures left nothing
        assert stored_offsets(tx, "other", "events", [0]) == {}
    store.close()
