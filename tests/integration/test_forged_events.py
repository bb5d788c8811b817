"""Forged records on ``tickets.events``: never applied by any projection, always findable, the real
events applied after them; with signing keys, nothing unsigned or wrongly signed gets in."""

from __future__ import annotations

import secrets
from dataclasses import replace
from pathlib import Path
from typing import Any
from uuid import uuid4

import msgpack
import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka_helpers import (
    FAST,
    InThread,
    count,
    create_topics,
    environment,
    new_desk,
    projection_rows,
    rebuild,
    settings_of,
    wait_until,
)

from tests.servers import TEST_CONSUMER_SETTINGS, KafkaEndpoint, PostgresAccess, PostgresDatabase
from tickets.application.desk import TicketDesk
from tickets.config import Settings
from tickets.consumers.kafka_settings import event_headers, ticket_key
from tickets.consumers.signing import parse_keys
from tickets.consumers.store_reader import StoreReader
from tickets.domain.actor import Actor
from tickets.kafka_wiring import (
    build_consumer,
    build_publisher,
    build_scheduler_member,
    kafka_settings,
    select_projections,
)
from tickets.projections.audit_hash import envelope_content
from tickets.projections.readstore import ReadStore
from tickets.projections.runner import create_schema
from tickets.replay.integrity import verify
from tickets.sample_lives import write_lives
from tickets.wire.envelope import Envelope, chained_hash

pytestmark = pytest.mark.integration

AGENT = Actor("agent", "a-1")
OLD_KEY, NEW_KEY = secrets.token_hex(32), secrets.token_hex(32)


def resealed(envelope: Envelope, **changes: Any) -> Envelope:
    changed = replace(envelope, **changes)
    return replace(changed, hash=chained_hash(changed.prev_hash, envelope_content(changed)))


def open_ticket_head(desk: TicketDesk) -> Envelope:
    """The last envelope of a ticket that is not closed."""
    envelopes = StoreReader(desk).read(0, 10_000)
    for ticket_id in desk.opened_ticket_ids():
        if desk.facts(ticket_id).status != "closed":
            return [e for e in envelopes if e.ticket_id == str(ticket_id)][-1]
    raise AssertionError("every sample ticket is closed")


def produce(settings: Settings, records: list[tuple[Envelope, list[tuple[str, bytes]]]]) -> None:
    producer = KafkaProducer(**kafka_settings(settings).producer_config())
    topic = kafka_settings(settings).topics.events
    for envelope, extra in records:
        producer.send(topic, key=ticket_key(envelope.ticket_id), value=envelope.encode(),
                      headers=event_headers(envelope.type) + extra)
    producer.flush()
    producer.close()


def forged_close(head: Envelope, **changes: Any) -> Envelope:
    """A ``Closed`` for the ticket's next version, sealed to link to ``head`` unless ``changes`` say."""
    fields: dict[str, Any] = {"type": "Closed", "version": head.version + 1,
                              "payload": {"reason": "resolved"}, "prev_hash": head.hash,
                              "position": head.position + 10_000}
    return resealed(head, **{**fields, **changes})


def phantom_opened(desk: TicketDesk, like: Envelope) -> Envelope:
    """A valid-hash ``Opened`` (a real ticket's, schema and all) for a ticket the store never had."""
    opened = next(e for e in StoreReader(desk).read(0, 10_000)
                  if e.ticket_id == like.ticket_id and e.type == "Opened")
    return resealed(opened, ticket_id=str(uuid4()), position=like.position + 20_000)


def same_as_rebuilt(settings: Settings, store: ReadStore, rebuilt_url: str) -> None:
    """The four projections' read models, set-aside events left out, equal a rebuild from the store
    (the scheduler group's own applied versions are not part of it)."""
    projections = select_projections(settings)
    live = projection_rows(store, projections)
    again = rebuild(settings, rebuilt_url)
    live.pop("set_aside"), again.pop("set_aside")
    names = {p.name for p in projections}
    live["projection_versions"] = [r for r in live["projection_versions"] if r[0] in names]
    assert live == again


def applied(store: ReadStore, ticket_id: str) -> set[tuple[str, int, str]]:
    return set(store.read("SELECT projection, version, hash FROM projection_versions WHERE ticket_id = ?",
                          (ticket_id,)))


def test_forged_hashes_links_and_gaps_are_set_aside_for_every_projection_and_the_real_event_applies(
    pg_database: PostgresDatabase, postgres_server: PostgresAccess, kafka_broker: KafkaEndpoint,
    kafka_topic_prefix: str, tmp_path: Path,
) -> None:
    env = environment(pg_database.dsn, pg_database.dsn, kafka_broker, kafka_topic_prefix, str(tmp_path))
    settings = settings_of(env)
    timers_url = postgres_server.create_schema().dsn  # a group of the SLA timers alone, no audit trail
    timers_settings = settings_of({**env, "TICKETS_READ_MODEL_URL": timers_url})
    create_topics(kafka_broker, kafka_topic_prefix)
    desk = new_desk(settings)
    written = write_lives(desk, 4, full=False)
    store, timers_store = ReadStore(pg_database.dsn), ReadStore(timers_url)
    names = [p.name for p in select_projections(settings)]
    timers = InThread(build_consumer(timers_settings, "timers", ["sla_timers"], **FAST))
    consumer = InThread(build_consumer(settings, "projections", **FAST))
    publisher = InThread(build_publisher(settings, read_process=False))
    try:
        wait_until(lambda: count(store, "audit_trail") == written, 60, "the sample events")
        publisher.halt()
        head = open_ticket_head(desk)
        wrong_hash = replace(forged_close(head), hash="0" * 63 + "1")
        wrong_link = forged_close(head, prev_hash="e" * 64, position=head.position + 10_001)
        gap = forged_close(head, version=head.version + 3, position=head.position + 10_002)
        altered_past = replace(head, payload={**head.payload, "forged": "yes"})  # applied version
        other_past = resealed(head, payload={**head.payload, "forged": "yes"}, position=head.position + 1)
        forged = (wrong_hash, wrong_link, gap, altered_past, other_past)
        produce(settings, [(e, []) for e in forged])
        wait_until(lambda: count(store, "set_aside") == len(forged) * len(names), 30,
                   "the forgeries set aside")
        wait_until(lambda: count(timers_store, "set_aside") == len(forged), 30, "the timers' set aside")
        assert {(p, v) for p, v, _ in applied(store, head.ticket_id)} == {(p, head.version) for p in names}
        desk.respond(head.ticket_id, actor=AGENT)  # the real next version
        real = StoreReader(desk).read(0, 10_000)[-1]
        publisher = InThread(build_publisher(settings, read_process=False))
        wait_until(lambda: count(store, "audit_trail") == written + 1, 30, "the real event")
        wait_until(lambda: applied(timers_store, head.ticket_id) == {("sla_timers", real.version, real.hash)},
                   30, "the real event in the timers' group")
        timer_rows = "SELECT * FROM sla_timers ORDER BY ticket_id, kind"
        wait_until(lambda: timers_store.read(timer_rows) == store.read(timer_rows), 30,
                   "the same timers in both groups")
    finally:
        consumer.halt()
        timers.halt()
        publisher.halt()
    aside = ("SELECT position, version, reason FROM set_aside WHERE projection = 'sla_timers' "
             "ORDER BY position")
    assert timers_store.read(aside) == store.read(aside)
    assert (real.ticket_id, real.version, real.type) == (head.ticket_id, head.version + 1, "Responded")
    assert applied(store, head.ticket_id) == {(p, real.version, real.hash) for p in names}
    reasons = store.read("SELECT projection, version, reason FROM set_aside")
    for name in names:
        mine = sorted((v, r.split(":")[0]) for p, v, r in reasons if p == name)
        assert mine == sorted([
            (head.version, f"hash mismatch at version {head.version}"),
            (head.version + 1, f"hash mismatch at version {head.version + 1}"),
            (head.version + 1, f"broken link at version {head.version + 1}"),
            (head.version, f"version {head.version} was applied with another hash"),
            (head.version + 3, "gap in versions")])
    same_as_rebuilt(settings, store, f"sqlite:///{tmp_path / 'rebuilt.sqlite3'}")
    assert verify(desk, store).ok
    store.close()
    timers_store.close()
    desk.close()


def test_without_signing_a_resealed_forgery_or_a_phantom_ticket_is_reported_by_verify(
    pg_database: PostgresDatabase, kafka_broker: KafkaEndpoint, kafka_topic_prefix: str,
    tmp_path: Path,
) -> None:
    settings = settings_of(environment(pg_database.dsn, pg_database.dsn, kafka_broker,
                                       kafka_topic_prefix, str(tmp_path)))
    create_topics(kafka_broker, kafka_topic_prefix)
    desk = new_desk(settings)
    written = write_lives(desk, 3, full=False)
    store = ReadStore(pg_database.dsn)
    consumer = InThread(build_consumer(settings, "projections", **FAST))
    publisher = InThread(build_publisher(settings, read_process=False))
    try:
        wait_until(lambda: count(store, "audit_trail") == written, 60, "the sample events")
        head = open_ticket_head(desk)
        resealed_close, phantom = forged_close(head), phantom_opened(desk, head)
        produce(settings, [(resealed_close, []), (phantom, [])])
        wait_until(lambda: count(store, "audit_trail") == written + 2, 30, "the forgeries")
    finally:
        consumer.halt()
        publisher.halt()
    report = verify(desk, store)
    assert not report.ok
    found = {(f.ticket_id, f.version, f.kind) for f in report.findings}
    assert (phantom.ticket_id, 1, "applied_unknown") in found
    assert (head.ticket_id, head.version + 1, "applied_unknown") in found
    store.close()
    desk.close()


def test_with_signing_keys_unsigned_and_wrongly_signed_records_go_to_the_dead_letters_across_a_rotation(
    pg_database: PostgresDatabase, kafka_broker: KafkaEndpoint, kafka_topic_prefix: str,
    tmp_path: Path,
) -> None:
    env = environment(pg_database.dsn, pg_database.dsn, kafka_broker, kafka_topic_prefix, str(tmp_path))
    old_only = settings_of({**env, "TICKETS_SIGNING_KEYS": f"k1:{OLD_KEY}"})
    rotating = settings_of({**env, "TICKETS_SIGNING_KEYS": f"k2:{NEW_KEY},k1:{OLD_KEY}"})
    create_topics(kafka_broker, kafka_topic_prefix)
    desk = new_desk(rotating)
    written = write_lives(desk, 3, full=False)
    store = ReadStore(pg_database.dsn)
    consumer = InThread(build_consumer(rotating, "projections", **FAST))  # verifies k1 and k2
    scheduler = InThread(build_scheduler_member(rotating, tick_every=3600, **FAST)[0])
    publisher = InThread(build_publisher(old_only, read_process=False))  # signs with k1
    try:
        wait_until(lambda: count(store, "audit_trail") == written, 60, "the events signed with k1")
        publisher.halt()
        head = open_ticket_head(desk)
        close, phantom = forged_close(head), phantom_opened(desk, head)
        stranger = parse_keys(f"k9:{secrets.token_hex(32)}", None)
        impostor = parse_keys(f"k1:{secrets.token_hex(32)}", None)
        forged = [(close, []), (phantom, []), (close, stranger.sign(close.encode())),
                  (close, impostor.sign(close.encode())),
                  (close, rotating.signing_keys.sign(phantom.encode()))]  # type: ignore[union-attr]
        produce(rotating, forged)
        wait_until(lambda: consumer.member.stats.dead_letters == len(forged), 30, "the dead letters")
        wait_until(lambda: scheduler.member.stats.dead_letters == len(forged), 30, "the scheduler's")
        desk.respond(head.ticket_id, actor=AGENT)
        publisher = InThread(build_publisher(rotating, read_process=False))  # signs with k2 now
        wait_until(lambda: count(store, "audit_trail") == written + 1, 30, "the event signed with k2")
    finally:
        consumer.halt()
        scheduler.halt()
        publisher.halt()
    dlq = KafkaConsumer(kafka_topic_prefix + "tickets.dlq", bootstrap_servers=kafka_broker.bootstrap_servers,
                        **TEST_CONSUMER_SETTINGS)
    letters: list[Any] = []
    for _ in range(100):
        for records in dlq.poll(timeout_ms=200).values():
            letters += records
        if len(letters) >= 2 * len(forged):
            break
    dlq.close()
    letters_by_group: dict[str, list[dict[str, Any]]] = {}
    for record in letters:
        letter = msgpack.unpackb(record.value, raw=False)
        letters_by_group.setdefault(letter["group"], []).append(letter)
    assert sorted(letters_by_group) == sorted([consumer.member.group_id, scheduler.member.group_id])
    for group_letters in letters_by_group.values():
        assert sorted(letter["reason"] for letter in group_letters) == sorted([
            "unsigned record: no signature-key or signature header",
            "unsigned record: no signature-key or signature header",
            "signed under an unknown key id b'k9'",
            "bad signature under key id 'k1'",
            "bad signature under key id 'k2'",
        ])
    unsigned = letters_by_group[consumer.member.group_id]
    assert sorted(u["value"] for u in unsigned if u["reason"].startswith("unsigned")) == sorted(
        [close.encode(), phantom.encode()])
    assert count(store, "set_aside") == 0
    real = StoreReader(desk).read(0, 10_000)[-1]
    assert {v for _, v, _ in applied(store, head.ticket_id)} == {real.version}
    assert not applied(store, phantom.ticket_id)
    same_as_rebuilt(rotating, store, f"sqlite:///{tmp_path / 'rebuilt.sqlite3'}")
    assert verify(desk, store).ok
    store.close()
    desk.close()


def test_a_postgres_read_model_made_before_hashes_were_kept_gets_the_column(
    pg_database: PostgresDatabase,
) -> None:
    store = ReadStore(pg_database.dsn)
    with store.transaction() as tx:
        tx.execute("CREATE TABLE projection_versions (projection TEXT NOT NULL, ticket_id TEXT NOT NULL, "
                   "version BIGINT NOT NULL, PRIMARY KEY (projection, ticket_id))")
        tx.execute("INSERT INTO projection_versions VALUES ('dashboard', 't', 3)")
    create_schema(store, [])
    create_schema(store, [])
    assert store.read("SELECT projection, version, hash FROM projection_versions") == [("dashboard", 3, None)]
    store.close()
