"""The intake on real servers: commands on tickets.intake applied to PostgreSQL, answered once each."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgpack
import pytest
from eventsourcing.persistence import OperationalError
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from tests.servers import KafkaEndpoint, PostgresDatabase
from tickets.application.desk import TicketDesk
from tickets.application.policy_files import load_catalogue
from tickets.consumers.dead_letters import decode_dead_letter
from tickets.consumers.intake import Intake
from tickets.consumers.kafka_settings import KafkaSettings
from tickets.consumers.staging import StagingDesk
from tickets.domain.scope import EVERY_DESK, DeskScope
from tickets.health import check_database, check_kafka

pytestmark = pytest.mark.integration

WEBFORM = [("service", b"webform")]


@pytest.fixture
def kafka(kafka_broker: KafkaEndpoint, kafka_topic_prefix: str) -> KafkaSettings:
    settings = KafkaSettings(kafka_broker.bootstrap_servers, topic_prefix=kafka_topic_prefix,
                             session_timeout_ms=6000, heartbeat_interval_ms=1000,
                             fetch_max_wait_ms=20, linger_ms=0)
    topics = settings.topics
    kafka_broker.create_topics([topics.intake, topics.intake_results, topics.dlq], partitions=3)
    return settings


@pytest.fixture
def desk(pg_schema: PostgresDatabase) -> Iterator[StagingDesk]:
    desk = StagingDesk(load_catalogue(), env=pg_schema.eventsourcing_env())
    yield desk
    desk.close()


@contextmanager
def running(intake: Intake) -> Iterator[Intake]:
    stop = threading.Event()
    thread = threading.Thread(target=intake.run, args=(stop,), kwargs={"poll_ms": 50})
    thread.start()
    try:
        yield intake
    finally:
        stop.set()
        thread.join(timeout=30)


class Service:
    """A service on the other side: sends commands, reads the answers by key."""

    def __init__(self, settings: KafkaSettings, **producer_overrides: Any) -> None:
        self.topics = settings.topics
        self.producer = KafkaProducer(**settings.producer_config(linger_ms=0, **producer_overrides))
        self.answers = KafkaConsumer(bootstrap_servers=settings.servers(), fetch_max_wait_ms=20,
                                     enable_auto_commit=False)
        partitions = self.answers.partitions_for_topic(self.topics.intake_results) or set()
        self.answers.assign([TopicPartition(self.topics.intake_results, p) for p in partitions])
        self.answers.seek_to_beginning()
        self.seen: list[tuple[str, dict[str, Any], dict[str, bytes]]] = []

    def send(self, message: Any, headers: list[tuple[str, bytes]] | None = None, *,
             raw: bool = False, key: bytes | None = None) -> None:
        value = message if raw else msgpack.packb(message, use_bin_type=True)
        self.producer.send(self.topics.intake, key=key, value=value,
                           headers=WEBFORM if headers is None else headers)
        self.producer.flush(timeout=10)

    def wait(self, count: int, timeout: float = 30.0) -> list[tuple[str, dict[str, Any], dict[str, bytes]]]:
        deadline = time.monotonic() + timeout
        while len(self.seen) < count and time.monotonic() < deadline:
            for records in self.answers.poll(timeout_ms=100).values():
                self.seen += [(r.key.decode(), msgpack.unpackb(r.value), dict(r.headers))
                              for r in records]
        assert len(self.seen) >= count, f"{len(self.seen)} answers of {count}"
        return self.seen

    def answer(self, key: str) -> dict[str, Any]:
        found = [value for k, value, _ in self.seen if k == key]
        assert found, f"no answer for {key}"
        return found[-1]

    def close(self) -> None:
        self.producer.close(timeout=10)
        self.answers.close()


@pytest.fixture
def service(kafka: KafkaSettings) -> Iterator[Service]:
    client = Service(kafka)
    yield client
    client.close()


def opening(command_id: str, **extra: Any) -> dict[str, Any]:
    return {"command_id": command_id, "type": "open", "desk": "o365", "requester": "c-1",
            "requester_role": "admin", "title": "Mail down", "severity": "B", **extra}


def change(command_id: str, kind: str, ticket: str, **extra: Any) -> dict[str, Any]:
    return {"command_id": command_id, "type": kind, "ticket": ticket, **extra}


def stored_events(desk: StagingDesk) -> int:
    return len(desk.notification_log.select(start=1, limit=5000))


def test_a_tickets_life_sent_through_the_intake_is_applied_and_answered(
    kafka: KafkaSettings, desk: StagingDesk, service: Service, pg_schema: PostgresDatabase,
) -> None:
    with running(Intake(desk, kafka, allowed={"webform": EVERY_DESK})):
        service.send(opening("o-1"), key=b"c-1")
        opened = service.wait(1)[0][1]
        assert opened["status"] == "accepted" and opened["ticket_number"].startswith("MSO-")
        assert opened["ticket_id"] and opened["version"] == 1 and opened["duplicate"] is False
        number = opened["ticket_number"]
        life = [change("a-1", "assign", number, agent="a-1"), change("r-1", "respond", number),
                change("q-1", "request_info", number),
                change("p-1", "reply", number, actor="customer:c-1"),
                change("c-1", "close", number, reason="resolved"),
                change("c-2", "respond", number),  # refused: the ticket is closed
                opening("o-2", desk="nowhere")]  # refused: no such desk
        for message in life:
            service.send(message, key=number.encode())
        service.send(opening("o-3"), headers=[("service", b"mallory")])  # not on the allow-list
        service.wait(9)
    for key in ("a-1", "r-1", "q-1", "p-1", "c-1"):
        assert service.answer(key)["status"] == "accepted", key
    assert service.answer("c-1")["version"] == 6
    closed, nowhere, mallory = service.answer("c-2"), service.answer("o-2"), service.answer("o-3")
    assert (closed["status"], closed["error"]["field"], closed["error"]["rule"]) == (
        "rejected", "status", "ticket_closed")
    assert (nowhere["error"]["field"], nowhere["error"]["rule"]) == ("desk", "known_desk")
    assert (mallory["error"]["field"], mallory["error"]["rule"]) == ("service", "allowed_service")
    reader = TicketDesk(load_catalogue(), env=pg_schema.eventsourcing_env())  # as any process reads
    try:
        history = reader.history(number)
    finally:
        reader.close()
    assert [e.type for e in history] == [
        "Opened", "Assigned", "Responded", "InfoRequested", "CustomerReplied", "Closed"]
    assert history[0].actor == "service:webform"
    assert all(h["service"] == b"webform" for k, _, h in service.seen if k != "o-3")


class CrashingIntake(Intake):
    """Applies and answers, then dies before committing its offsets: neither while running nor
    on the way out."""

    def _commit(self, batch: Any) -> None:
        pass

    def _commit_last(self) -> None:
        self.producer.flush(timeout=self.send_timeout)


def test_redelivered_and_duplicate_commands_are_applied_once(
    kafka: KafkaSettings, desk: StagingDesk, service: Service,
) -> None:
    service.send(opening("o-1"))
    service.send(opening("o-1"))  # the service published it twice
    with running(CrashingIntake(desk, kafka)):
        first, again = (answer for _, answer, _ in service.wait(2))
    assert first["status"] == again["status"] == "accepted"
    assert again["duplicate"] is True and again["ticket_id"] == first["ticket_id"]
    written = stored_events(desk)
    # Nothing was committed: the group's next member gets both records again.
    with running(Intake(desk, kafka)):
        redelivered = service.wait(4)[2:]
    assert [a["duplicate"] for _, a, _ in redelivered] == [True, True]
    assert {a["ticket_number"] for _, a, _ in redelivered} == {first["ticket_number"]}
    assert stored_events(desk) == written == 2  # one ticket, one receipt
    assert len(list(desk.opened_ticket_ids())) == 1


def committed_offsets(kafka: KafkaSettings, group: str) -> dict[int, int]:
    """The group's committed offsets on the intake topic, by partition (as its next member sees them)."""
    consumer = KafkaConsumer(bootstrap_servers=kafka.servers(), group_id=group, enable_auto_commit=False)
    try:
        partitions = consumer.partitions_for_topic(kafka.topics.intake) or set()
        found = {p: consumer.committed(TopicPartition(kafka.topics.intake, p)) for p in partitions}
        return {p: offset for p, offset in found.items() if offset is not None}
    finally:
        consumer.close()


def test_offsets_follow_the_acknowledged_answers_and_the_last_are_committed_on_the_way_out(
    kafka: KafkaSettings, desk: StagingDesk, service: Service,
) -> None:
    intake = Intake(desk, kafka)
    with running(intake):
        for n in range(12):
            service.send(opening(f"o-{n}"), key=f"c-{n}".encode())
        service.wait(12)
    committed = committed_offsets(kafka, intake.group_id)
    assert sum(committed.values()) == 12  # every record, on whichever partition it went to
    # A new member of the group starts after them: nothing is answered again.
    with running(Intake(desk, kafka)), pytest.raises(AssertionError, match="12 answers of 13"):
        service.wait(13, timeout=3.0)
    assert committed_offsets(kafka, intake.group_id) == committed


def test_a_running_intake_commits_its_offsets_once_per_interval_without_stopping(
    kafka: KafkaSettings, desk: StagingDesk, service: Service,
) -> None:
    intake = Intake(desk, dataclasses.replace(kafka, commit_interval_ms=300))
    with running(intake):
        for n in range(6):
            service.send(opening(f"o-{n}"), key=f"c-{n}".encode())
        service.wait(6)
        deadline = time.monotonic() + 10
        while sum(committed_offsets(kafka, intake.group_id).values()) < 6:
            assert time.monotonic() < deadline, "the offsets were not committed while running"
            time.sleep(0.2)


def dead_letters(kafka: KafkaSettings, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
    consumer = KafkaConsumer(bootstrap_servers=kafka.servers(), fetch_max_wait_ms=20)
    try:
        partitions = consumer.partitions_for_topic(kafka.topics.dlq) or set()
        consumer.assign([TopicPartition(kafka.topics.dlq, p) for p in partitions])
        consumer.seek_to_beginning()
        found: list[Any] = []
        deadline = time.monotonic() + timeout
        while len(found) < count and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=100).values():
                found += records
        return [decode_dead_letter(r.value) | {"headers": dict(r.headers)} for r in found]
    finally:
        consumer.close()


def test_a_malformed_message_is_answered_rejected_and_kept_while_later_commands_apply(
    kafka: KafkaSettings, desk: StagingDesk, service: Service,
) -> None:
    with running(Intake(desk, kafka)):
        service.send(b"\x92\x01\x02", raw=True, key=b"k1")  # msgpack, but a list
        service.send(b"\xc1garbage", raw=True)
        service.send(opening("o-bad", title=42))
        service.send(opening("o-good"))
        service.wait(4)
    assert service.answer("o-good")["status"] == "accepted"
    bad = service.answer("o-bad")
    assert (bad["status"], bad["error"]["field"], bad["error"]["rule"]) == ("rejected", "title", "type")
    keyless = [a for k, a, _ in service.seen if ":" in k]
    assert sorted(a["error"]["rule"] for a in keyless) == ["msgpack", "type"]
    assert all(a["command_id"] is None for a in keyless)
    letters = dead_letters(kafka, 3)
    assert len(letters) == 3
    by_value = {letter["value"]: letter for letter in letters}
    listed = by_value[b"\x92\x01\x02"]
    assert listed["reason"].startswith("command: type")
    assert (listed["topic"], listed["key"]) == (kafka.topics.intake, b"k1")
    assert isinstance(listed["partition"], int) and isinstance(listed["offset"], int)
    assert listed["headers"]["dlq-reason"].startswith(b"command: type")
    assert by_value[b"\xc1garbage"]["reason"].startswith("command: msgpack")
    assert len(list(desk.opened_ticket_ids())) == 1



def test_health_reaches_postgres_and_the_broker_and_names_missing_topics(
    kafka: KafkaSettings, pg_schema: PostgresDatabase,
) -> None:
    url = pg_schema.database(pg_schema.dbname).dsn + f"?schema={pg_schema.schema}"
    assert check_database("event_store", url).ok
    topics = kafka.topics
    assert check_kafka(kafka.bootstrap_servers, [topics.intake, topics.dlq]).ok
    missing = check_kafka(kafka.bootstrap_servers, topics.all())
    assert not missing.ok and missing.detail == f"missing topics: {topics.events}"


def test_a_store_that_fails_for_a_moment_delays_the_batch_and_loses_nothing(
    kafka: KafkaSettings, desk: StagingDesk, service: Service,
) -> None:
    write = desk.write_staged
    failures: list[int] = []

    def flaky_write(events: Any) -> Any:
        if not failures:
            failures.append(len(events))
            raise OperationalError("the server closed the connection")
        return write(events)

    desk.write_staged = flaky_write  # type: ignore[method-assign]
    for n in range(3):
        service.send(opening(f"o-{n}"), key=b"c-1")
    intake = Intake(desk, kafka)
    with running(intake):
        answers = service.wait(3)
        time.sleep(0.5)  # anything more would be a second answer
        service.wait(3)
    assert failures and intake.stats.retries == 1
    assert sorted(k for k, _, _ in service.seen) == ["o-0", "o-1", "o-2"]
    assert all(a["status"] == "accepted" and not a["duplicate"] for _, a, _ in answers)
    assert len(list(desk.opened_ticket_ids())) == 3


def test_each_service_is_kept_to_its_desks_on_the_real_broker(
    kafka: KafkaSettings, desk: StagingDesk, service: Service,
) -> None:
    portal, zoom_bot = [("service", b"portal")], [("service", b"zoom-bot")]
    services = {"portal": DeskScope(frozenset({"o365"})), "zoom-bot": DeskScope(frozenset({"zoom"}))}
    with running(Intake(desk, kafka, allowed=services)):
        service.send(opening("o-1"), portal, key=b"c-1")
        number = service.wait(1)[0][1]["ticket_number"]
        unknown = number[:-1] + ("X" if number[-1] != "X" else "Y")
        service.send(change("z-1", "respond", number), zoom_bot, key=number.encode())
        service.send(change("z-2", "respond", unknown), zoom_bot, key=unknown.encode())
        service.send(change("z-3", "reply", number, actor="customer:c-1"), zoom_bot, key=number.encode())
        service.send(opening("z-4"), zoom_bot, key=b"c-1")  # a new ticket on o365
        service.send(change("p-1", "respond", number), portal, key=number.encode())
        service.wait(6)
    hidden, none = service.answer("z-1"), service.answer("z-2")
    assert hidden["status"] == "rejected" and hidden["error"]["rule"] == "known_ticket"
    assert str(hidden["error"]).replace(number, "REF") == str(none["error"]).replace(unknown, "REF")
    assert service.answer("z-3")["error"]["rule"] == "known_ticket"
    refused = service.answer("z-4")["error"]
    assert (refused["field"], refused["rule"]) == ("desk", "desk_in_scope")
    assert service.answer("p-1")["status"] == "accepted"
    assert [(e.type, e.actor) for e in desk.history(number)] == [
        ("Opened", "service:portal"), ("Responded", "service:portal")]
    assert len(list(desk.opened_ticket_ids())) == 1
