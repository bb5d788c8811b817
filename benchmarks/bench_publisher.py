"""Publisher events/s (PostgreSQL store → Kafka) beside a plain kafka-python producer on the same broker.

Fills a PostgreSQL event store with ``--events`` ticket events (``kafka_bench_data``), then times:

* ``plain``: a kafka-python producer sending the same envelopes' bytes, keyed, with the
  publisher's producer settings (idempotent, ``acks=all``, ``linger_ms=5``), flushed per batch;
* ``read``: the publisher's reading alone (the notification log read, sealed and packed);
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

from tests.servers import KafkaEndpoint, PostgresDatabase, dev_servers
from tickets.application.policy_files import load_catalogue
from tickets.collector import freeze_startup_objects
from tickets.config import persistence_env
from tickets.consumers.kafka_settings import KafkaSettings, event_headers, ticket_key
from tickets.consumers.publisher import Publisher
from tickets.consumers.publisher_state import PostgresPublisherState
from tickets.consumers.read_ahead import ProcessReadAhead, ReadAhead, ThreadReadAhead, outgoing
from tickets.consumers.store_reader import StoreReader
from tickets.wire.envelope import Envelope


@contextlib.contextmanager
def servers(external: bool) -> Iterator[tuple[str, KafkaEndpoint]]:
    if external:
        yield os.environ["TICKETS_DATABASE_URL"], KafkaEndpoint(os.environ["KAFKA_BOOTSTRAP_SERVERS"])
        return
    with dev_servers() as s:
        assert s.postgres is not None and s.kafka is not None
        yield s.postgres.dsn, s.kafka


def machine_busy_seconds() -> float:
    """CPU seconds all processes of the machine have spent (``/proc/stat``), for how busy it was."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


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
    parser.add_argument("--reads", choices=("process", "thread"), default="process",
                        help="read and seal ahead in a child process (as `tickets publish`) or a thread")
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
        envelopes = StoreReader(desk).read(0, written)
        began = time.perf_counter()
        read = len(outgoing(StoreReader(desk), 0, written))
        results["read_events_per_s"] = round(read / (time.perf_counter() - began))
        say(f"reading and sealing alone (the publisher's path): {results['read_events_per_s']:,} events/s")
        results["plain_producer_msgs_per_s"] = round(plain(plain_kafka, envelopes, args.batch))
        say(f"plain kafka-python producer, same records: {results['plain_producer_msgs_per_s']:,} msg/s")
        ahead: ReadAhead = (ProcessReadAhead(load_catalogue(), persistence_env(url))
                            if args.reads == "process" else ThreadReadAhead(StoreReader(desk)))
        publisher = Publisher(ahead, PostgresPublisherState(url, "bench"), kafka, batch_size=args.batch)
        results["reads"] = args.reads
        publisher.lead(threading.Event())
        publisher.producer.send(kafka.topics.events, key=b"warm-up", value=b"").get(timeout=30)
        freeze_startup_objects()  # as `tickets publish` does before its loop
        profiler = cProfile.Profile() if args.profile else None
        machine_before, cpu_before = machine_busy_seconds(), time.process_time()
        began = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        published = 0
        while (n := publisher.step()) > 0:
            published += n
        if profiler is not None:
            profiler.disable()
        elapsed = time.perf_counter() - began
        results["publisher_events_per_s"] = round(published / elapsed)
        results["publisher_cpu_us_per_event"] = round((time.process_time() - cpu_before) / published * 1e6, 1)
        results["machine_cores_busy"] = round((machine_busy_seconds() - machine_before) / elapsed, 2)
        publisher.close()
        desk.close()
        say(f"publisher (read ahead in a {args.reads}, send, acknowledged, position recorded): "
            f"{results['publisher_events_per_s']:,} events/s ({published} events); sending process "
            f"{results['publisher_cpu_us_per_event']} µs CPU an event; machine cores busy "
            f"{results['machine_cores_busy']} of {os.cpu_count()}")
        if profiler is not None:
            pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
