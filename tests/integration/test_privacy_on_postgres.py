"""Done means, at scale: PostgreSQL for events, keys and read models, the test broker for the topic.

Tickets with distinctive contact details are published and projected by a consumer group that holds
no keys; one requester is erased; then their name, e-mail address and phone number are in no row of
any table of the database (event store, key schema, read models), in no record on the topic, and in
no log line; the other requester's data opens; the hash chains verify; the SLA figures are the same.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from kafka import KafkaConsumer
from kafka_helpers import FAST, InThread, count, create_topics, environment, settings_of, wait_until

from tests.servers import TEST_CONSUMER_SETTINGS, KafkaEndpoint, PostgresDatabase
from tickets.application.clock import VirtualClock
from tickets.domain.actor import Actor
from tickets.domain.personal import ERASED
from tickets.kafka_wiring import build_consumer, build_publisher
from tickets.privacy.erase import erase
from tickets.privacy.keys import KeyTable
from tickets.projections.readstore import ReadStore
from tickets.replay.integrity import verify
from tickets.sample_lives import desk_clock_start
from tickets.wiring import build_desk

pytestmark = pytest.mark.integration

ANNA = {"contact_name": "Annaliese Quorndeval", "contact_email": "annaliese.q@quorndeval-mail.nl",
        "contact_phone": "+31 6 9137 2468"}
BOB = {"contact_name": "Bartholomew Yxenstierna", "contact_email": "bart.yx@yxenstierna.se",
       "contact_phone": "+46 70 864 2097"}


def every_row_as_text(database: PostgresDatabase) -> str:
    """Every row of every table of every schema but PostgreSQL's own, as text."""
    with database.connect(autocommit=True) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = "
            "'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')").fetchall()
        return "\n".join(
            str(row[0]) for schema, name in tables
            for row in conn.execute(f'SELECT t::text FROM "{schema}"."{name}" t').fetchall())


def test_an_erasure_on_postgres_and_kafka_leaves_no_byte_of_the_requester(
        pg_database: PostgresDatabase, kafka_broker: KafkaEndpoint, kafka_topic_prefix: str,
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    settings = settings_of(environment(pg_database.dsn, pg_database.dsn, kafka_broker,
                                       kafka_topic_prefix, str(tmp_path)))
    create_topics(kafka_broker, kafka_topic_prefix)
    clock = VirtualClock(desk_clock_start())
    desk = build_desk(settings, clock=clock)
    keys = desk.personal
    assert isinstance(keys, KeyTable) and keys.path.endswith("/tickets_keys")
    numbers = {}
    for requester, contact in (("c-anna", ANNA), ("c-bob", BOB)):
        numbers[requester] = desk.open(
            desk="o365", requester=requester, requester_role="admin", title="Mail stopped",
            fields=contact, severity="A", actor=Actor("service", "webform")).number
        clock.advance(timedelta(minutes=5))
        desk.respond(numbers[requester], actor=Actor("agent", "a-1"))
    written = 4
    later = clock.now() + timedelta(hours=2)
    before = {n: desk.sla(n, now=later) for n in numbers.values()}

    store = ReadStore(settings.read_model_url)
    publisher = InThread(build_publisher(settings, batch_size=10))
    consumer = InThread(build_consumer(settings, "projections", **FAST))  # it holds no keys
    try:
        wait_until(lambda: count(store, "audit_trail") == written, 60, "every event projected")
    finally:
        consumer.halt()
        publisher.halt()
    topic = KafkaConsumer(kafka_topic_prefix + "tickets.events",
                          bootstrap_servers=kafka_broker.bootstrap_servers, **TEST_CONSUMER_SETTINGS)
    records: list[bytes] = []
    try:
        for _ in range(300):
            records += [r.value for batch in topic.poll(timeout_ms=100).values() for r in batch]
            if len(records) >= written:
                break
    finally:
        topic.close()
    assert len(records) >= written and count(store, "dashboard_tickets") == 2

    erase(desk, keys, "c-anna", asked_by="auditor:dpo", basis="GDPR art. 17")

    assert {n: desk.sla(n, now=later) for n in numbers.values()} == before
    assert verify(desk, store).ok
    anna = desk.get(numbers["c-anna"]).fields
    bob = desk.get(numbers["c-bob"]).fields
    assert {keys.open(k, anna[k]) for k in ANNA} == {ERASED}
    assert {k: keys.open(k, bob[k]) for k in BOB} == BOB
    rows = every_row_as_text(pg_database)
    logged = "".join(capfd.readouterr())
    assert "c-anna" in rows and "PersonalDataErased" in rows  # the tables were read
    for value in ANNA.values():
        assert value not in rows
        assert not any(value.encode() in record for record in records)
        assert value not in logged
    for value in BOB.values():
        assert value not in rows and not any(value.encode() in r for r in records)
    store.close()
    desk.close()
