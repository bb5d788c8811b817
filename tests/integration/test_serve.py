"""``tickets serve`` over the consumer group's read models in PostgreSQL: replicas agree, the
change stream is woken by the group's announcements, and a read may wait for its write."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from kafka_helpers import FAST, InThread, count, create_topics, environment, new_desk, settings_of, wait_until
from prometheus_client.parser import text_string_to_metric_families
from serve_helpers import StreamReader, token

from tests.servers import KafkaEndpoint, PostgresDatabase
from tickets.application.desk import TicketDesk
from tickets.config import Settings
from tickets.domain.actor import Actor
from tickets.kafka_wiring import build_consumer, build_publisher
from tickets.projections.readstore import ReadStore
from tickets.sample_lives import write_lives
from tickets.serve import Served, serve

pytestmark = pytest.mark.integration


@dataclass
class Deployment:
    settings: Settings
    desk: TicketDesk
    store: ReadStore
    replicas: list[Served]
    board: str
    service: str


@pytest.fixture
def deployment(pg_database: PostgresDatabase, kafka_broker: KafkaEndpoint, kafka_topic_prefix: str,
               tmp_path: Path) -> Iterator[Deployment]:
    env = environment(pg_database.dsn, pg_database.dsn, kafka_broker, kafka_topic_prefix, str(tmp_path))
    settings = settings_of(env)
    create_topics(kafka_broker, kafka_topic_prefix)
    desk = new_desk(settings)
    publisher = InThread(build_publisher(settings, read_process=False))
    runner = build_consumer(settings, **FAST)
    consumer = InThread(runner)
    wait_until(lambda: len(runner.owned()) == 3, 30, "the group's partitions assigned")
    replicas = [serve(settings, port=0, read_wait=0.5) for _ in range(2)]
    store = ReadStore(pg_database.dsn)
    try:
        yield Deployment(settings, desk, store, replicas,
                         token(pg_database.dsn, "wallboard", "dashboard"),
                         token(pg_database.dsn, "webform", "service"))
    finally:
        for replica in replicas:
            replica.close()
        consumer.halt()
        publisher.halt()
        store.close()
        desk.close()


def _get(url: str, path: str, bearer: str, headers: dict[str, str] | None = None,
         params: dict[str, str | int] | None = None) -> httpx.Response:
    return httpx.get(f"{url}{path}", headers={"Authorization": f"Bearer {bearer}", **(headers or {})},
                     params=params, timeout=10)


def test_replicas_answer_the_same_figures_and_etags_and_stream_every_change_in_order(
    deployment: Deployment,
) -> None:
    streams = [StreamReader(r.url, deployment.board) for r in deployment.replicas]
    before = [_get(r.url, "/api/dashboard", deployment.board) for r in deployment.replicas]
    events = write_lives(deployment.desk, 24, interleave=6)
    wait_until(lambda: count(deployment.store, "audit_trail") == events, 60, "the group to apply all")
    written = {(str(e.ticket_id), e.version)
               for t in deployment.desk.opened_ticket_ids() for e in deployment.desk.history(t)}
    wait_until(lambda: all(s.versions() == written for s in streams), 10, "every change on both streams")
    wait_until(lambda: all(_get(r.url, "/api/dashboard", deployment.board).json()["position"] == events
                           for r in deployment.replicas), 5, "the ETags' marks to move (twice a second)")
    after = [_get(r.url, "/api/dashboard", deployment.board) for r in deployment.replicas]
    for stream in streams:
        stream.close()
        assert stream.error is None
        assert len(stream.changes) == len(written)  # none twice
        assert stream.in_ticket_order()
    assert after[0].headers["etag"] == after[1].headers["etag"] != before[0].headers["etag"]
    assert after[0].json() == after[1].json()
    assert after[0].json()["position"] == events  # the records the group applied, on every replica
    assert sum(o["tickets"] for o in after[0].json()["open"]) == sum(
        1 for t in deployment.desk.opened_ticket_ids() if deployment.desk.get(t).status != "closed")
    again = _get(deployment.replicas[1].url, "/api/dashboard", deployment.board,
                 headers={"If-None-Match": after[0].headers["etag"]})
    assert again.status_code == 304  # one replica's tag is good at the other
    for replica in deployment.replicas:  # how far the group is, in each replica's metrics
        offsets = {s.labels["partition"]: s.value
                   for f in text_string_to_metric_families(httpx.get(f"{replica.url}/metrics").text)
                   for s in f.samples if s.name == "tickets_read_model_offset"}
        assert len(offsets) == 3 and sum(offsets.values()) == events, offsets


def test_a_read_naming_a_write_waits_until_the_read_models_hold_it(deployment: Deployment) -> None:
    writer, reader = deployment.replicas
    opened = httpx.post(f"{writer.url}/api/commands", timeout=10, json={
        "command_id": "serve-open-1", "type": "open", "desk": "o365", "requester": "c-77",
        "requester_role": "admin", "title": "Mail is down"},
        headers={"Authorization": f"Bearer {deployment.service}"}).json()
    assert opened["status"] == "accepted", opened
    assert opened["at_least"] == f"{opened['ticket_id']}@{opened['version']}"
    started = time.monotonic()
    listed = _get(reader.url, "/api/tickets", deployment.board,
                  params={"desk": "o365", "limit": 500, "at_least": opened["at_least"]})
    assert listed.status_code == 200, listed.text
    assert opened["ticket_number"] in [t["number"] for t in listed.json()["tickets"]]
    assert time.monotonic() - started < 10
    by_header = _get(reader.url, "/api/dashboard", deployment.board,
                     headers={"Tickets-At-Least": opened["at_least"]})
    plain = _get(reader.url, "/api/dashboard", deployment.board)
    assert by_header.status_code == 200 and by_header.headers["etag"] == plain.headers["etag"]


@pytest.mark.parametrize("mark", ["{ticket}@{far}", f"{uuid.uuid4()}@1"])
def test_a_read_naming_a_write_not_yet_applied_is_told_so_after_the_bound(
    deployment: Deployment, mark: str,
) -> None:
    number = deployment.desk.open(desk="o365", requester="c-1", requester_role="admin",
                                  title="Mail is down", actor=Actor("service", "webform")).number
    ticket = str(deployment.desk.ticket_id(number))
    started = time.monotonic()
    answer = _get(deployment.replicas[0].url, "/api/dashboard", deployment.board,
                  params={"at_least": mark.format(ticket=ticket, far=99)})
    waited = time.monotonic() - started
    assert answer.status_code == 425
    assert answer.headers["retry-after"] == "1"
    assert answer.json()["error"] == "not_yet" and answer.json()["field"] == "at_least"
    assert 0.5 <= waited < 3


def test_a_malformed_write_mark_is_refused_naming_the_field(deployment: Deployment) -> None:
    for mark in ["WEB-123", "x@1", f"{uuid.uuid4()}@0", f"{uuid.uuid4()}@abc", f"{uuid.uuid4()}",
                 f"{uuid.uuid4()}@{2**31}", ""]:
        answer = _get(deployment.replicas[0].url, "/api/tickets", deployment.board,
                      params={"at_least": mark})
        assert answer.status_code == 400, mark
        assert answer.json()["field"] == "at_least" and answer.json()["rule"] == "ticket_at_version"
