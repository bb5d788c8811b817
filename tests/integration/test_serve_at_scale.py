"""The engine at scale, every part its own ``tickets`` process: about 2,000 commands, a consumer
member killed with SIGKILL and restarted, and two ``serve`` replicas that agree with the store.

Publisher, a projections group of two members over 6 partitions, the scheduler group, the intake
and two ``tickets serve`` replicas run as subprocesses. Four services send ticket lives across the
desks: two on the intake topic, two through the write API (one per replica). While they send, one
group member is killed and started again (the group rebalances twice). At the end both replicas
answer the same dashboard, its open tickets equal a count from the event store, the read models
equal a rebuild from the store (nothing lost, nothing applied twice), and both change streams
carried every ticket event once, each ticket's in order.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import msgpack
import pytest
from cli_processes import Process
from command_lives import later_message, life_length, open_message
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka_helpers import count, environment, projection_rows, rebuild, settings_of, wait_until
from serve_helpers import StreamReader, token

from tests.servers import KafkaEndpoint, PostgresAccess, PostgresDatabase
from tickets.application.desk import TicketDesk
from tickets.config import Settings
from tickets.consumers.kafka_settings import KafkaSettings
from tickets.kafka_wiring import select_projections
from tickets.projections.readstore import ReadStore
from tickets.sample_lives import register_editors
from tickets.wiring import build_desk

pytestmark = pytest.mark.integration

PARTITIONS = 6
INTAKE_SERVICES = ("webform", "chatbot")
HTTP_SERVICES = ("phone", "mailgw")
LIVES_PER_INTAKE_SERVICE = 110
LIVES_PER_HTTP_SERVICE = 55


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class IntakeService:
    """A service on the intake topic: sends lives, reads its answers on the results topic."""

    def __init__(self, kafka: KafkaSettings, name: str) -> None:
        self.name = name
        self.topics = kafka.topics
        self.producer = KafkaProducer(**kafka.producer_config(linger_ms=5))
        self.answers = KafkaConsumer(bootstrap_servers=kafka.servers(), fetch_max_wait_ms=20,
                                     enable_auto_commit=False)
        self.answers.assign([TopicPartition(self.topics.intake_results, p) for p in range(PARTITIONS)])
        self.answers.seek_to_beginning()
        self.seen: dict[str, dict[str, Any]] = {}

    def send(self, message: dict[str, Any], key: str) -> None:
        self.producer.send(self.topics.intake, key=key.encode(), headers=[("service", self.name.encode())],
                           value=msgpack.packb(message, use_bin_type=True))

    def wait_for(self, command_ids: list[str], timeout: float) -> None:
        self.producer.flush(timeout=30)
        deadline = time.monotonic() + timeout
        while any(c not in self.seen for c in command_ids) and time.monotonic() < deadline:
            for records in self.answers.poll(timeout_ms=100).values():
                for record in records:
                    answer = msgpack.unpackb(record.value)
                    if str(answer.get("command_id")).startswith(f"{self.name}-"):  # not another's
                        self.seen[str(answer["command_id"])] = answer
        missing = [c for c in command_ids if c not in self.seen]
        assert not missing, f"{self.name}: {len(missing)} commands unanswered"

    def drive(self, lives: int, rng: random.Random) -> int:
        """Open every life, then send the rest of each, keyed by its ticket; return the commands."""
        opens = [open_message(self.name, i, rng) for i in range(lives)]
        for message in opens:
            self.send(message, message["requester"])
        self.wait_for([m["command_id"] for m in opens], 90)
        later = []
        for i, message in enumerate(opens):
            number = self.seen[message["command_id"]]["ticket_number"]
            for step in range(1, life_length(i)):
                later.append(later_message(self.name, i, step, number, message["requester"]))
                self.send(later[-1], number)
        self.wait_for([m["command_id"] for m in later], 120)
        return len(opens) + len(later)

    def close(self) -> None:
        self.producer.close(timeout=10)
        self.answers.close()


def _drive_http(url: str, bearer: str, name: str, lives: int, rng: random.Random,
                answers: dict[str, dict[str, Any]]) -> None:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {bearer}"}, timeout=30) as client:
        for i in range(lives):
            opened = open_message(name, i, rng)
            answers[opened["command_id"]] = first = client.post("/api/commands", json=opened).json()
            for step in range(1, life_length(i)):
                message = later_message(name, i, step, first["ticket_number"], opened["requester"])
                answers[message["command_id"]] = client.post("/api/commands", json=message).json()


def _store_counts(desk: TicketDesk) -> tuple[set[tuple[str, int]], Counter[tuple[str, str, str]]]:
    """Every (ticket, version) in the event store, and open tickets per (desk, severity, status)."""
    versions: set[tuple[str, int]] = set()
    open_tickets: Counter[tuple[str, str, str]] = Counter()
    for ticket_id in desk.opened_ticket_ids():
        ticket = desk.get(ticket_id)
        versions |= {(str(ticket_id), v) for v in range(1, ticket.version + 1)}
        if ticket.status != "closed":
            open_tickets[(ticket.desk, str(ticket.severity), ticket.status)] += 1
    return versions, open_tickets


def _same_dashboard(urls: list[str], bearer: str) -> list[dict[str, Any]]:
    """Both replicas' dashboards once they settled: the same tag twice in a row on both (a replica
    answers its last body while it builds the next, and the minute may turn in between)."""
    last: set[str] = set()
    for _ in range(20):
        bodies = [httpx.get(f"{u}/api/dashboard", headers={"Authorization": f"Bearer {bearer}"},
                            timeout=10) for u in urls]
        tags = {b.headers["etag"] for b in bodies}
        if len(tags) == 1 and tags == last:
            return [b.json() for b in bodies]
        last = tags
        time.sleep(0.3)
    raise AssertionError("the replicas never settled on one dashboard")


def test_two_serve_replicas_agree_with_the_store_after_2000_commands_and_a_killed_member(
    pg_database: PostgresDatabase, postgres_server: PostgresAccess, kafka_broker: KafkaEndpoint,
    kafka_topic_prefix: str, tmp_path: Path,
) -> None:
    started = time.monotonic()
    env = environment(pg_database.dsn, pg_database.dsn, kafka_broker, kafka_topic_prefix, str(tmp_path))
    settings: Settings = settings_of(env)
    kafka = KafkaSettings.of(settings, session_timeout_ms=6000, heartbeat_interval_ms=1000,
                             fetch_max_wait_ms=20)
    topics = kafka.topics
    kafka_broker.create_topics([topics.events, topics.dlq, topics.intake, topics.intake_results],
                               PARTITIONS)
    desk = build_desk(settings)
    register_editors(desk)  # the web desk's sites need editors before its tickets can be opened
    tokens = {name: token(pg_database.dsn, name, "service") for name in HTTP_SERVICES}
    board = token(pg_database.dsn, "wallboard", "dashboard")

    def process(name: str, args: list[str], ready: str) -> Process:
        return Process(args, env, tmp_path / f"{name}.log", ready=(ready,))

    engine = [process("publish", ["publish", "--batch", "200"], "publisher_leading"),
              process("consume-1", ["consume"], "consumer_started"),
              process("consume-2", ["consume"], "consumer_started"),
              process("schedule", ["schedule"], "consumer_started"),
              process("intake", ["intake"], "intake_started")]
    ports = [_free_port(), _free_port()]
    replicas = [process(f"serve-{i}", ["serve", "--http-port", str(p), "--read-wait", "5"], "http_started")
                for i, p in enumerate(ports)]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    store = ReadStore(pg_database.dsn)
    intake = [IntakeService(kafka, name) for name in INTAKE_SERVICES]
    try:
        for member in engine + replicas:
            wait_until(member.is_running, 60, f"{member.log.name} to start")
        streams = [StreamReader(url, board) for url in urls]
        http_answers: dict[str, dict[str, Any]] = {}
        sent: list[int] = []
        drivers = [threading.Thread(target=lambda s=s, i=i: sent.append(s.drive(
            LIVES_PER_INTAKE_SERVICE, random.Random(i)))) for i, s in enumerate(intake)]
        drivers += [threading.Thread(target=_drive_http, args=(
            urls[i], tokens[name], name, LIVES_PER_HTTP_SERVICE, random.Random(10 + i), http_answers))
            for i, name in enumerate(HTTP_SERVICES)]
        for driver in drivers:
            driver.start()
        group = kafka.topic_prefix + "projections"
        wait_until(lambda: len(store.read("SELECT partition FROM consumer_offsets WHERE group_id = ?",
                                          (group,))) == PARTITIONS and count(store, "audit_trail") > 400,
                   90, "both members' first batches")
        assert any(d.is_alive() for d in drivers), "the commands were all sent before the kill"
        killed_at = count(store, "audit_trail")
        victim = engine[1]
        victim.kill()  # SIGKILL mid-run: its partitions go to the other member, then come back
        time.sleep(1.0)
        victim.start()
        for driver in drivers:
            driver.join(180)
        intake_answers = [a for s in intake for a in s.seen.values()]
        commands = sum(sent) + len(http_answers)
        accepted = sum(a["status"] == "accepted" for a in [*intake_answers, *http_answers.values()])
        versions, open_tickets = _store_counts(desk)
        wait_until(lambda: count(store, "audit_trail") == len(versions), 90, "every event applied")
        wait_until(lambda: all(len(s.changes) >= len(versions) for s in streams), 30,
                   "every change on both streams")
        time.sleep(1.0)  # a change sent twice would come now; the ETags' marks move twice a second
        dashboards = _same_dashboard(urls, board)
        for stream in streams:
            stream.close()
        figures = Counter({(o["desk"], o["severity"], o["status"]): o["tickets"]
                           for o in dashboards[0]["open"] if o["tickets"]})
        print(f"\ncommands sent {commands} (intake {sum(sent)}, http {len(http_answers)}), "
              f"accepted {accepted}; ticket events in the store {len(versions)}, in the audit trail "
              f"{count(store, 'audit_trail')} ({killed_at} at the kill); "
              f"changes streamed {[len(s.changes) for s in streams]}; "
              f"open tickets {sum(open_tickets.values())} (dashboard {sum(figures.values())}); "
              f"{time.monotonic() - started:.0f} s")
        assert commands >= 1_900 and accepted == commands
        assert dashboards[0] == dashboards[1]
        assert figures == open_tickets
        for stream in streams:
            assert stream.error is None
            assert stream.versions() == versions and len(stream.changes) == len(versions)
            assert stream.in_ticket_order()
        for member in [*replicas, *engine]:
            assert member.stop() == 0, member.log.name
        projections = select_projections(settings)
        names = {p.name for p in projections}  # the scheduler group keeps its own versions beside them
        applied = {table: [r for r in rows if table not in ("projection_versions", "set_aside")
                           or r[0] in names]
                   for table, rows in projection_rows(store, projections).items()}
        assert applied == rebuild(settings, postgres_server.create_schema().dsn)
        assert time.monotonic() - started < 240
    finally:
        for member in engine + replicas:
            if member.proc is not None and member.proc.poll() is None:
                member.proc.kill()
        for service in intake:
            service.close()
        store.close()
        desk.close()
