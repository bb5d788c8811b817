"""Consumer events/s (Kafka → all four projections on PostgreSQL) beside a plain consume + plain INSERTs.

Fills a PostgreSQL event store with ``--events`` ticket events (``kafka_bench_data``), puts their
envelopes on ``tickets.events`` (keyed by ticket, 3 partitions), then times, each into a fresh
schema of the same database:

* ``plain``: a kafka-python consumer (assigned partitions, no group) with one ``executemany``
  INSERT of (partition, offset, key, value) per polled batch, one transaction each;
* ``runner``: the consumer-group runner (``GroupRunner``) applying every record to all four
  projections with its offsets, one transaction per poll, timed from its first batch (the group
  join is left out); ``--profile`` prints its hottest functions;
* ``--each``: each projection alone through ``apply_batch`` (no Kafka), to show where time goes;
* ``--signed``: the records signed (``consumers.signing``) and the runner checking every signature.

Starts its own servers unless ``--external``. Run: ``python benchmarks/bench_consumer.py [--json]``.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import secrets
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg
from bench_publisher import servers
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka_bench_data import fill_store

from tests.servers import PostgresDatabase
from tickets.application.policy_files import load_catalogue
from tickets.collector import freeze_startup_objects
from tickets.config import persistence_env
from tickets.consumers.kafka_runner import GroupRunner
from tickets.consumers.kafka_settings import KafkaSettings, event_headers, ticket_key
from tickets.consumers.signing import parse_keys
from tickets.consumers.store_reader import StoreReader
from tickets.kafka_wiring import desk_ids
from tickets.projections.readstore import ReadStore
from tickets.projections.runner import apply_batch, create_schema
from tickets.projections_registry import all_projections
from tickets.wire.envelope import Envelope

FAST = {"session_timeout_ms": 6000, "heartbeat_interval_ms": 1000, "fetch_max_wait_ms": 20}


def publish(kafka: KafkaSettings, envelopes: list[Envelope]) -> None:
    producer = KafkaProducer(**kafka.producer_config())
    for e in envelopes:
        value = e.encode()
        signed = kafka.signing.sign(value) if kafka.signing is not None else []
        producer.send(kafka.topics.events, key=ticket_key(e.ticket_id), value=value,
                      headers=event_headers(e.type) + signed)
    producer.flush()
    producer.close()


def plain(kafka: KafkaSettings, dsn: str, total: int) -> float:
    consumer = KafkaConsumer(**kafka.consumer_config(None, **FAST))
    consumer.assign([TopicPartition(kafka.topics.events, p) for p in range(3)])
    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE TABLE plain_events (partition BIGINT, record_offset BIGINT, key BYTEA, "
                     "value BYTEA, PRIMARY KEY (partition, record_offset))")
        conn.commit()
        seen, began = 0, 0.0
        while seen < total:
            polled = consumer.poll(timeout_ms=100)
            rows = [(r.partition, r.offset, r.key, r.value) for records in polled.values() for r in records]
            if rows and not began:
                began = time.perf_counter()
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO plain_events VALUES (%s, %s, %s, %s)", rows)
            conn.commit()
            seen += len(rows)
    consumer.close()
    return total / (time.perf_counter() - began)


def runner(kafka: KafkaSettings, dsn: str, total: int, profile: bool,
           sort: str = "tottime") -> tuple[float, float]:
    """(events/s, this process's CPU µs per event: its loop and kafka-python's IO thread)."""
    catalogue = load_catalogue()
    member = GroupRunner(kafka, "bench", ReadStore(dsn), all_projections(catalogue),
                         consumer_overrides=FAST, desks=desk_ids(catalogue))
    freeze_startup_objects()  # as `tickets consume` does before its loop
    profiler = cProfile.Profile() if profile else None
    while member.step(100) == 0:
        pass  # the group join and the first batch are left out of the timing
    began, cpu = time.perf_counter(), time.process_time()
    first = member.stats.events
    if profiler is not None:
        profiler.enable()
    while member.stats.events < total:
        member.step(100)
    if profiler is not None:
        profiler.disable()
        pstats.Stats(profiler).sort_stats(sort).print_stats(25)
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    member.close()
    return (total - first) / elapsed, cpu / (total - first) * 1e6


def each(dsn_of: Any, envelopes: list[Envelope], batch: int) -> dict[str, int]:
    rates = {}
    for projection in all_projections(load_catalogue()):
        store = ReadStore(dsn_of())
        create_schema(store, [projection])
        began = time.perf_counter()
        for start in range(0, len(envelopes), batch):
            with store.transaction() as tx:
                apply_batch(tx, projection, envelopes[start:start + batch])
        rates[projection.name] = round(len(envelopes) / (time.perf_counter() - began))
        store.close()
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--external", action="store_true")
    parser.add_argument("--each", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--signed", action="store_true", help="sign the records and check them")
    parser.add_argument("--sort", default="tottime", help="profile order: tottime or cumulative")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    say = (lambda *a: None) if args.json else (lambda *a: print(*a, flush=True))
    results: dict[str, Any] = {"events": args.events, "signed": args.signed}
    with servers(args.external) as (dsn, endpoint):
        database = PostgresDatabase.from_dsn(dsn)

        def fresh() -> str:
            return database.create_schema(f"bench_{secrets.token_hex(4)}").dsn

        schema = f"bench_{secrets.token_hex(4)}"
        database.create_schema(schema)
        desk, written, seconds = fill_store(persistence_env(f"{dsn.split('?')[0]}?schema={schema}"),
                                            args.events)
        envelopes = StoreReader(desk).read(0, written)
        desk.close()
        signing = parse_keys(f"bench:{secrets.token_hex(32)}", None) if args.signed else None
        kafka = KafkaSettings(endpoint.bootstrap_servers, topic_prefix=f"bench{secrets.token_hex(3)}.",
                              max_poll_records=2000, signing=signing)
        endpoint.create_topics([kafka.topics.events, kafka.topics.dlq], 3)
        publish(kafka, envelopes)
        say(f"{written} events in the store and on {kafka.topics.events} ({seconds:.1f} s)")
        results["plain_events_per_s"] = round(plain(kafka, fresh(), written))
        say(f"plain consume + executemany INSERT per batch: {results['plain_events_per_s']:,} events/s")
        rate, cpu = runner(kafka, fresh(), written, args.profile, args.sort)
        results["runner_events_per_s"], results["runner_cpu_us_per_event"] = round(rate), round(cpu)
        say(f"consumer-group runner, all four projections + offsets: {round(rate):,} events/s "
            f"({round(cpu)} µs CPU an event)")
        if args.each:
            results["each_projection_events_per_s"] = each(fresh, envelopes, 2000)
            say(f"each projection alone (apply_batch, no Kafka): {results['each_projection_events_per_s']}")
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
