"""Publisher events/s (PostgreSQL store → Kafka) beside a plain kafka-python producer on the same broker.

Fills a PostgreSQL event store with ``--events`` ticket events (``kafka_bench_data``), then times:

* ``plain``: a kafka-python producer sending the same envelopes' bytes, keyed, with the
  publisher's producer settings (idempotent, ``acks=all``, ``linger_ms=5``), flushed per batch;
* ``read``: ``StoreReader.read`` alone (the notification log read and sealed into envelopes);
* ``publisher``: ``Publisher.step`` until the log is drained: read, send, wait for the broker's
  acknowledgements, record the position; ``--profile`` prints its hottest functions.

Starts its own servers unless ``--external`` (then ``TICKETS_DATABASE_URL`` and
``KAFKA_BOOTSTRAP_SERVERS``). Run: ``python benchmarks/bench_publisher.py [--events 20000] [--json]``.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import pstats
import secrets
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from kafka import KafkaProducer
from kafka_bench_data import fill_store

from consumers.envelope import Envelope
from consumers.kafka_settings import KafkaSettings, event_headers, ticket_key
from consumers.publisher import Publisher
from consumers.publisher_state import PostgresPublisherState
from consumers.store_reader import StoreReader
from tickets.config import persistence_env
from tickets.devservers import KafkaEndpoint, PostgresDatabase, dev_servers


@contextlib.contextmanager
def servers(external: bool) -> Iterator[tuple[str, KafkaEndpoint]]:
    if external:
        yield os.environ["TICKETS_DATABASE_URL"], KafkaEndpoint(os.environ["KAFKA_BOOTSTRAP_SERVERS"])
        return
    with dev_servers() as s:
        assert s.postgres is not None and s.kafka is not None
        yield s.postgres.dsn, s.kafka


def plain(kafka: KafkaSettings, envelopes: list[Envelope], batch: int) -> float:
    values = [(ticket_key(e.ticket_id), e.encode(), event_headers(e.type)) for e in envelopes]
    producer = KafkaProducer(**kafka.producer_config())
    producer.send(kafka.topics.events, key=b"warm-up", value=b"").get(timeout=30)
    began = time.perf_counter()
    for start in range(0, len(values), batch):
        for key, value, headers in values[start:start + batch]:
            producer.send(kafka.topics.events, key=key, value=value, headers=headers)
        producer.flush()
    elapsed = time.perf_counter() - began
    producer.close()
    return len(values) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=2000, help="events per publisher batch")
    parser.add_argument("--external", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--no-prefetch", action="store_true", help="read the next batch only after sending")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    say = (lambda *a: None) if args.json else (lambda *a: print(*a, flush=True))
    results: dict[str, Any] = {"events": args.events, "batch": args.batch}
    with servers(args.external) as (dsn, endpoint):
        schema = f"bench_{secrets.token_hex(4)}"
        PostgresDatabase.from_dsn(dsn).create_schema(schema)
        url = f"{dsn.split('?')[0]}?schema={schema}"
        desk, written, seconds = fill_store(persistence_env(url), args.events)
        say(f"store filled: {written} events in {seconds:.1f} s")
        prefix = f"bench{secrets.token_hex(3)}."
        kafka = KafkaSettings(endpoint.bootstrap_servers, topic_prefix=prefix)
        plain_kafka = KafkaSettings(endpoint.bootstrap_servers, topic_prefix=prefix + "plain.")
        endpoint.create_topics([kafka.topics.events, plain_kafka.topics.events], 3)
        began = time.perf_counter()
        envelopes = StoreReader(desk).read(0, written)
        results["read_events_per_s"] = round(len(envelopes) / (time.perf_counter() - began))
        say(f"StoreReader.read alone: {results['read_events_per_s']:,} events/s")
        results["plain_producer_msgs_per_s"] = round(plain(plain_kafka, envelopes, args.batch))
        say(f"plain kafka-python producer, same records: {results['plain_producer_msgs_per_s']:,} msg/s")
        publisher = Publisher(StoreReader(desk), PostgresPublisherState(url, "bench"), kafka,
                              batch_size=args.batch, prefetch=not args.no_prefetch)
        publisher.lead(threading.Event())
        publisher.producer.send(kafka.topics.events, key=b"warm-up", value=b"").get(timeout=30)
        profiler = cProfile.Profile() if args.profile else None
        began = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        published = 0
        while (n := publisher.step()) > 0:
            published += n
        if profiler is not None:
            profiler.disable()
        results["publisher_events_per_s"] = round(published / (time.perf_counter() - began))
        publisher.close()
        desk.close()
        say(f"publisher (read, send, acknowledged, position recorded): "
            f"{results['publisher_events_per_s']:,} events/s ({published} events)")
        if profiler is not None:
            pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
