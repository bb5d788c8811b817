"""Kafka settings shared by every process that talks to the broker: topics, keys, clients.

One place decides the topic names (with an optional prefix, so tests and several deployments can
share a cluster), how a ticket's records are keyed and partitioned, the headers, and the producer
and consumer settings. Everything here runs unchanged against Apache Kafka and the test broker.

The key rule: a record about a ticket is keyed by the ticket id's canonical UUID text as ASCII
bytes (``ticket_key``), and the partition is kafka-python's ``DefaultPartitioner``: murmur2 of the
key bytes, masked to 31 bits, modulo the partition count (``partition_for``), the same as the Java
client's default for keyed records. Anything else that writes ticket streams (another language,
confluent-kafka/librdkafka whose default partitioner is CRC32-based) must use this same murmur2
partitioner (librdkafka: ``partitioner=murmur2_random``), or one ticket's events land on two
partitions and lose their order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol
from uuid import UUID

from kafka.partitioner import DefaultPartitioner, murmur2

from tickets.consumers.signing import SigningKeys
from tickets.wire.envelope import CONTENT_TYPE

EVENTS = "tickets.events"
DLQ = "tickets.dlq"
INTAKE = "tickets.intake"
INTAKE_RESULTS = "tickets.intake.results"

#: Header names: ``type`` repeats the envelope's event type, ``content-type`` its encoding.
TYPE_HEADER = "type"
CONTENT_TYPE_HEADER = "content-type"
#: The content type of dead letters on ``tickets.dlq`` (a msgpack map; see docs/envelope.md).
DEAD_LETTER_CONTENT_TYPE = "application/msgpack; schema=dead-letter-v1"

Headers = list[tuple[str, bytes]]
#: What a record adds to its key, value and headers in a produce request (batch and record framing).
RECORD_OVERHEAD = 4096
#: The least a dead letter may be given: its own fields take up to 16 KiB (``consumers.dead_letters``).
DEAD_LETTER_MIN_BYTES = 32 * 1024


class KafkaConfigured(Protocol):
    """What ``KafkaSettings.of`` reads from the application's settings (``tickets.config``)."""

    @property
    def kafka_bootstrap_servers(self) -> str | None: ...

    @property
    def kafka_topic_prefix(self) -> str: ...

    @property
    def kafka_session_timeout_ms(self) -> int: ...

    @property
    def kafka_commit_interval_ms(self) -> int: ...

    @property
    def signing_keys(self) -> SigningKeys | None: ...


@dataclass(frozen=True)
class Topics:
    """The topic names, each with the configured prefix."""

    prefix: str = ""

    @property
    def events(self) -> str:
        return self.prefix + EVENTS

    @property
    def dlq(self) -> str:
        return self.prefix + DLQ

    @property
    def intake(self) -> str:
        return self.prefix + INTAKE

    @property
    def intake_results(self) -> str:
        return self.prefix + INTAKE_RESULTS

    def all(self) -> tuple[str, ...]:
        return (self.events, self.dlq, self.intake, self.intake_results)


@dataclass(frozen=True)
class KafkaSettings:
    """Broker address, topic prefix and the tunables of producers and consumers."""

    bootstrap_servers: str
    topic_prefix: str = ""
    client_id: str = "tickets"
    #: Producer: small linger so that a busy publisher fills batches and an idle one adds ~5 ms.
    linger_ms: int = 5
    batch_size: int = 256 * 1024
    compression_type: str | None = None
    #: Consumer: a member that misses heartbeats this long is dropped and its partitions move.
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000
    #: A waiting fetch returns after this long; the test broker is not woken by new records.
    fetch_max_wait_ms: int = 20
    max_poll_records: int = 2_000
    #: Kafka offset commits at most this often (``consumers.commit_pacing``): each is a request,
    #: and only redelivery after a crash depends on them (0: after every batch).
    commit_interval_ms: int = 1_000
    max_poll_interval_ms: int = 300_000
    #: The publisher writes no transactions, so both levels read the same records today; switch to
    #: ``read_committed`` if a transactional writer is added (the test broker ignores it anyway).
    isolation_level: str = "read_uncommitted"
    #: kafka-python's own client metrics: sensors updated on every request and read by nobody
    #: here (the engine's Prometheus metrics say what an operator watches). True turns them on
    #: for every client.
    client_metrics: bool = False
    #: The publisher signs every event record with these; consumers refuse records they do not
    #: verify (``consumers.signing``). None: no signing and no check.
    signing: SigningKeys | None = None
    #: Producer: the largest request it sends (kafka-python's default; Apache Kafka's brokers
    #: accept 1,048,588-byte batches by default). A record over it is refused before it is sent.
    max_request_size: int = 1_048_576
    #: A dead letter's key, value and headers together never exceed this (``consumers.dead_letters``
    #: keeps what fits of a larger poison, with its digest and size), so it is always writable.
    dead_letter_max_bytes: int = 1_000_000
    #: A dead letter or answer the broker refuses is tried this many times, waiting
    #: ``retry_backoff_s`` doubled each time, before its record is parked (``consumers.parking``).
    park_after_attempts: int = 4
    retry_backoff_s: float = 0.5

    def __post_init__(self) -> None:
        if not DEAD_LETTER_MIN_BYTES <= self.dead_letter_max_bytes <= self.max_request_size - RECORD_OVERHEAD:
            raise ValueError(
                f"dead_letter_max_bytes ({self.dead_letter_max_bytes}) must be at least "
                f"{DEAD_LETTER_MIN_BYTES} and at most "
                f"max_request_size - {RECORD_OVERHEAD} ({self.max_request_size - RECORD_OVERHEAD}), "
                "or dead letters of large records could not be written")
        if self.park_after_attempts < 1:
            raise ValueError(f"park_after_attempts ({self.park_after_attempts}) must be at least 1")

    @classmethod
    def of(cls, settings: KafkaConfigured, **overrides: Any) -> KafkaSettings:
        if not settings.kafka_bootstrap_servers:
            raise ValueError("KAFKA_BOOTSTRAP_SERVERS is not set")
        values: dict[str, Any] = {
            "bootstrap_servers": settings.kafka_bootstrap_servers,
            "topic_prefix": settings.kafka_topic_prefix,
            "session_timeout_ms": settings.kafka_session_timeout_ms,
            "heartbeat_interval_ms": max(500, settings.kafka_session_timeout_ms // 6),
            "commit_interval_ms": settings.kafka_commit_interval_ms,
            "signing": settings.signing_keys,
        }
        values.update(overrides)
        return cls(**values)

    @property
    def topics(self) -> Topics:
        return Topics(self.topic_prefix)

    def servers(self) -> list[str]:
        return [s.strip() for s in self.bootstrap_servers.split(",") if s.strip()]

    def producer_config(self, **overrides: Any) -> dict[str, Any]:
        """Idempotent, fully acknowledged sends: no duplicates from retries, order kept per partition."""
        config: dict[str, Any] = {
            "bootstrap_servers": self.servers(),
            "client_id": self.client_id,
            "enable_idempotence": True,
            "acks": "all",
            "linger_ms": self.linger_ms,
            "batch_size": self.batch_size,
            "compression_type": self.compression_type,
            "partitioner": TicketPartitioner(),
            "max_request_size": self.max_request_size,
            "metrics_enabled": self.client_metrics,
        }
        config.update(overrides)
        return config

    def consumer_config(self, group_id: str | None, **overrides: Any) -> dict[str, Any]:
        """Auto-commit off: offsets are committed by whoever stored the work (see docs/kafka.md)."""
        config: dict[str, Any] = {
            "bootstrap_servers": self.servers(),
            "client_id": self.client_id,
            "group_id": group_id,
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            "fetch_max_wait_ms": self.fetch_max_wait_ms,
            "session_timeout_ms": self.session_timeout_ms,
            "heartbeat_interval_ms": self.heartbeat_interval_ms,
            "max_poll_records": self.max_poll_records,
            "max_poll_interval_ms": self.max_poll_interval_ms,
            "isolation_level": self.isolation_level,
            "metrics_enabled": self.client_metrics,
        }
        config.update(overrides)
        return config


class TicketPartitioner(DefaultPartitioner):
    """kafka-python's ``DefaultPartitioner`` with its pure-Python murmur2 (~30 µs) memoized per key.

    Same partitions as the default; a ticket's key repeats for each of its events.
    """

    def partition(
        self, topic: str, key: Any, serialized_key: bytes | None, value: Any,
        serialized_value: bytes | None, cluster: Any,
    ) -> int:
        if serialized_key is None:
            return int(super().partition(topic, key, serialized_key, value, serialized_value, cluster))
        known = cluster.partitions_for_topic(topic)  # the producer has checked the topic is known
        if not known:
            raise ValueError(f"Topic {topic} not found in ClusterMetadata")
        partitions = sorted(known)
        return int(partitions[_masked_hash(serialized_key) % len(partitions)])


@lru_cache(maxsize=65_536)
def _masked_hash(key: bytes) -> int:
    return int(murmur2(key)) & 0x7FFFFFFF


@lru_cache(maxsize=65_536)
def ticket_key(ticket_id: UUID | str) -> bytes:
    """The record key of a ticket's records: its canonical UUID text, ASCII (memoized: ids repeat)."""
    return str(UUID(str(ticket_id))).encode("ascii")


def partition_for(key: bytes, partitions: int) -> int:
    """The partition kafka-python's ``DefaultPartitioner`` picks for ``key`` (partitions 0..n-1)."""
    return _masked_hash(key) % partitions


def event_headers(event_type: str, content_type: str = CONTENT_TYPE) -> Headers:
    return [(TYPE_HEADER, event_type.encode("utf-8")), (CONTENT_TYPE_HEADER, content_type.encode("ascii"))]


def header_map(headers: list[tuple[str, bytes]] | None) -> Mapping[str, bytes]:
    return dict(headers or ())
