"""What the intake and latency benchmarks share: servers, engine processes, a service's client.

Not a benchmark itself. The engine's processes run as the CLI runs them in production
(``python -m tickets.cli intake``, ``publish``, ``consume``), each in its own process, configured
by environment variables; their logs go to files in a temporary directory.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import (  # noqa: E402
    KafkaBroker,
    KafkaEndpoint,
    PostgresAccess,
    PostgresDatabase,
    PostgresServer,
)
from tickets.consumers.kafka_settings import KafkaSettings  # noqa: E402

SERVICE_HEADERS = [("service", b"bench")]
#: The measuring side's Kafka clients keep no metrics: their sensors cost CPU on every request, on
#: the machine the engine is measured on.
QUIET: dict[str, Any] = {"metrics_enabled": False}


def raise_priority(increment: int, pid: int | str = "self") -> int:
    """``os.nice(increment)`` for this process and what it starts (engine processes, servers).

    A negative increment (root only) approximates a machine of one's own when other work shares
    it; the figures say which priority they were measured at. Where the kernel groups processes by
    session (``sched_autogroup``), niceness only orders a session's own processes, so the
    session's group is given the same niceness (the servers run in sessions of their own: call
    this again with their pids).
    """
    if not increment:
        return os.nice(0)
    autogroup = Path(f"/proc/{pid}/autogroup")
    if autogroup.exists():
        with contextlib.suppress(OSError):
            autogroup.write_text(str(max(-20, min(19, increment))))
    return os.nice(increment) if pid == "self" else increment


def add_server_arguments(parser: Any) -> None:
    """The flags every server benchmark shares: where the servers come from, priority, output."""
    parser.add_argument("--durable", action="store_true", help="PostgreSQL with fsync on, on disk")
    parser.add_argument("--external", action="store_true",
                        help="use TICKETS_DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS")
    parser.add_argument("--nice", type=int, default=0,
                        help="add this to the priority of the benchmark, its servers and processes "
                             "(negative: before other work on the machine; root only)")
    parser.add_argument("--json", action="store_true", help="print one JSON object only")


def report_header(nice: int) -> dict[str, Any]:
    """Raise the priority by ``nice``; the report's first fields: Python, machine, niceness, load."""
    import platform

    return {"python": platform.python_version(), "machine": f"{platform.machine()}, {os.cpu_count()} cpus",
            "niceness": raise_priority(nice), "load_average": [round(x, 1) for x in os.getloadavg()]}


@contextlib.contextmanager
def servers(external: bool, durable: bool = False,
            nice: int = 0) -> Iterator[tuple[PostgresAccess, KafkaEndpoint]]:
    """PostgreSQL and a Kafka-protocol broker: started here, or the ones the environment names."""
    if external:
        yield (PostgresDatabase.from_dsn(os.environ["TICKETS_DATABASE_URL"]),
               KafkaEndpoint(os.environ["KAFKA_BOOTSTRAP_SERVERS"]))
        return
    with PostgresServer(durable=durable) as pg, KafkaBroker() as broker:
        for server in (pg, broker):
            if nice and server.pid is not None:
                raise_priority(nice, server.pid)
        yield pg, broker




def url_of(database: PostgresAccess) -> str:
    return database.database(database.dbname).dsn


def kafka_settings(endpoint: KafkaEndpoint, prefix: str) -> KafkaSettings:
    return KafkaSettings(endpoint.bootstrap_servers, topic_prefix=prefix, session_timeout_ms=6000,
                         heartbeat_interval_ms=1000, fetch_max_wait_ms=20, linger_ms=0)


def new_prefix(name: str) -> str:
    return f"{name}{secrets.token_hex(3)}."


@dataclass
class EngineProcess:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self, timeout: float = 20.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def cpu_seconds(self) -> float:
        """User and system CPU time the process has used so far (Linux ``/proc``)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def engine_processes(
    commands: dict[str, list[str]], env: dict[str, str]
) -> Iterator[dict[str, EngineProcess]]:
    """Start ``python -m tickets.cli <args>`` per name; SIGTERM them all at the end."""
    started: dict[str, EngineProcess] = {}
    with tempfile.TemporaryDirectory(prefix="tickets-bench-") as tmp:
        try:
            for name, argv in commands.items():
                log_path = Path(tmp) / f"{name}.log"
                with log_path.open("wb") as log:
                    process = subprocess.Popen(
                        [sys.executable, "-m", "tickets.cli", *argv], cwd=ROOT,
                        env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
                started[name] = EngineProcess(name, process, log_path)
            yield started
        finally:
            for member in started.values():
                member.stop()


def engine_env(database_url: str, endpoint: KafkaEndpoint, prefix: str, home: str) -> dict[str, str]:
    return {
        "TICKETS_DATABASE_URL": database_url, "TICKETS_READ_MODEL_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": endpoint.bootstrap_servers,
        "TICKETS_KAFKA_TOPIC_PREFIX": prefix, "TICKETS_KAFKA_SESSION_TIMEOUT_MS": "6000",
        "TICKETS_LOG_FORMAT": "json", "TICKETS_HOME": home, "PYTHONUNBUFFERED": "1",
    }


class ServiceClient:
    """A service: publishes commands on the intake topic, reads every answer from the results topic.

    With ``watch_events`` the same consumer (one fetch loop, not two) also reads ``tickets.events``,
    whose envelopes ``poll`` hands to ``on_events`` as (ticket id, version) pairs with their
    arrival time.
    """

    def __init__(self, settings: KafkaSettings,
                 on_events: Callable[[list[tuple[str, int]], float], None] | None = None) -> None:
        from kafka import KafkaConsumer, KafkaProducer, TopicPartition

        self.topics = settings.topics
        self.on_events = on_events
        self.producer = KafkaProducer(**settings.producer_config(linger_ms=0, **QUIET))
        self.answers = KafkaConsumer(bootstrap_servers=settings.servers(), fetch_max_wait_ms=20,
                                     enable_auto_commit=False, max_poll_records=5000, **QUIET)
        topics = [self.topics.intake_results] + ([self.topics.events] if on_events else [])
        self.answers.assign([TopicPartition(topic, p) for topic in topics
                             for p in self.answers.partitions_for_topic(topic) or set()])
        self.answers.seek_to_beginning()

    def send(self, message: dict[str, Any], key: bytes | None = None) -> Any:
        return self.producer.send(self.topics.intake, key=key,
                                  value=msgpack.packb(message, use_bin_type=True),
                                  headers=SERVICE_HEADERS)

    def poll(self, timeout_ms: int = 50) -> list[tuple[str, dict[str, Any], float]]:
        """Answers that arrived: (key, answer, arrival time on ``time.perf_counter``)."""
        got: list[tuple[str, dict[str, Any], float]] = []
        for tp, records in self.answers.poll(timeout_ms=timeout_ms).items():
            now = time.perf_counter()
            if tp.topic == self.topics.intake_results:
                got += [(r.key.decode(), msgpack.unpackb(r.value), now) for r in records]
            elif self.on_events is not None:
                envelopes = [msgpack.unpackb(r.value) for r in records]
                self.on_events([(e["ticket_id"], e["version"]) for e in envelopes], now)
        return got

    def collect(self, keys: set[str], deadline: float) -> dict[str, dict[str, Any]]:
        """Wait for an answer to every key (or the deadline); return them by key."""
        found: dict[str, dict[str, Any]] = {}
        while len(found) < len(keys) and time.perf_counter() < deadline:
            for key, answer, _ in self.poll():
                if key in keys:
                    found[key] = answer
        return found

    def close(self) -> None:
        self.producer.close(timeout=10)
        self.answers.close()


def opening(command_id: str, requester: str) -> dict[str, Any]:
    return {"command_id": command_id, "type": "open", "desk": "zoom", "plan": "premier",
            "severity": "P2", "requester": requester, "requester_role": "admin",
            "title": "Meeting fails"}


#: The rest of a ticket's typical life, after it was opened: (type, extra fields).
LIFE: list[tuple[str, dict[str, Any]]] = [
    ("assign", {"agent": "a-1"}),
    ("respond", {}),
    ("request_info", {}),
    ("reply", {}),
    ("close", {"reason": "resolved"}),
]


def step(command_id: str, kind: str, number: str, extra: dict[str, Any]) -> dict[str, Any]:
    return {"command_id": command_id, "type": kind, "ticket": number, **extra}
