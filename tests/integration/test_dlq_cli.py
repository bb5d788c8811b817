"""``tickets dlq list`` and ``tickets dlq replay`` on the real test servers: poison a group dead-letters
and parks is listed (filtered by group, parked, reason) without its contents; once the cause is fixed
the replayed letters are applied exactly once; a letter whose original cannot be had is refused in one
line naming its offset and the rule, and nothing is sent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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
from test_poison_events import poison_bytes, send_raw

from tests.servers import KafkaEndpoint, PostgresAccess, PostgresDatabase
from tickets import cli, metrics
from tickets.consumers.dead_letters import DeadLetter
from tickets.consumers.kafka_runner import GroupRunner
from tickets.consumers.kafka_settings import DEAD_LETTER_MIN_BYTES
from tickets.consumers.store_reader import StoreReader
from tickets.dlq_reading import read_all
from tickets.kafka_wiring import build_consumer, build_publisher, desk_ids, kafka_settings, select_projections
from tickets.projections.readstore import ReadStore
from tickets.sample_lives import write_lives
from tickets.wiring import build_catalogue

pytestmark = pytest.mark.integration


def tickets(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``tickets ARGV`` in this process: exit code, stdout, stderr."""
    capsys.readouterr()  # what the members in threads logged before
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def listed(capsys: pytest.CaptureFixture[str], *options: str) -> list[dict[str, Any]]:
    code, out, err = tickets(capsys, "dlq", "list", "--json", *options)
    assert code == 0, err
    rows: list[dict[str, Any]] = json.loads(out)
    return rows


def records_on(kafka: KafkaEndpoint, topic: str) -> int:
    """How many records ``topic`` holds (read to the end: the test broker's end offsets are wrong)."""
    consumer = KafkaConsumer(bootstrap_servers=kafka.bootstrap_servers, enable_auto_commit=False,
                             fetch_max_wait_ms=20)
    try:
        return sum(1 for _ in read_all(consumer, topic))
    finally:
        consumer.close()


@pytest.fixture
def env(pg_database: PostgresDatabase, kafka_broker: KafkaEndpoint, kafka_topic_prefix: str,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment of this test's ``tickets`` processes, set for the commands run in-process."""
    values = environment(pg_database.dsn, pg_database.dsn, kafka_broker, kafka_topic_prefix, str(tmp_path))
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    for name in ("TICKETS_SIGNING_KEYS", "TICKETS_SIGNING_KEY_ID"):
        monkeypatch.delenv(name, raising=False)
    create_topics(kafka_broker, kafka_topic_prefix)
    return values


def test_dead_letters_are_listed_without_contents_and_replayed_once_after_the_fix(
    env: dict[str, str], pg_database: PostgresDatabase, postgres_server: PostgresAccess,
    kafka_broker: KafkaEndpoint, kafka_topic_prefix: str, capsys: pytest.CaptureFixture[str],
) -> None:
    settings = settings_of(env)
    events = kafka_topic_prefix + "tickets.events"
    desk = new_desk(settings)
    written = write_lives(desk, 4, interleave=2)
    envelopes = list(StoreReader(desk).read(0, written))
    desk.close()
    unknown = envelopes[0].desk
    held_back = sum(1 for e in envelopes if e.desk == unknown)
    parked_poison = poison_bytes(600_000, 2)  # its dead letter is over the producer's limit below
    sent = send_raw(kafka_broker, events, [parked_poison, poison_bytes(50, 3)])
    store = ReadStore(pg_database.dsn)
    publisher = InThread(build_publisher(settings))
    runner = GroupRunner(kafka_settings(settings, **FAST, retry_backoff_s=0.05), "projections", store,
                         select_projections(settings), producer_overrides={"max_request_size": 300_000},
                         desks=desk_ids(build_catalogue(settings)) - {unknown},
                         on_parked=metrics.record_parked)
    consumer = InThread(runner)
    try:
        wait_until(lambda: runner.stats.dead_letters == held_back + 2
                   and count(store, "audit_trail") == written - held_back, 90, "the other desks' events")
    finally:
        consumer.halt()
        publisher.halt()

    every = listed(capsys)
    assert len(every) == held_back + 2
    assert [(r["dlq_partition"], r["dlq_offset"]) for r in every] == sorted(
        (r["dlq_partition"], r["dlq_offset"]) for r in every)
    assert {r["group"] for r in every} == {kafka_topic_prefix + "projections"}
    assert not any("value" in r or "key" in r for r in every)  # sizes only, never the bytes
    parked = listed(capsys, "--parked")
    assert [(r["topic"], r["partition"], r["offset"]) for r in parked] == [
        (events, sent[0].partition, sent[0].offset)]
    assert parked[0]["parked"] and parked[0]["truncated"] and parked[0]["value_size"] == 600_000
    assert parked[0]["kept_bytes"] == 0 and parked[0]["attempts"] == 4
    desk_letters = listed(capsys, "--reason", "IS NOT A DESK", "--group", "projections")
    assert len(desk_letters) == held_back and not any(r["parked"] or r["truncated"] for r in desk_letters)
    assert listed(capsys, "--group", "scheduler") == []
    assert len(listed(capsys, "--limit", "2")) == 2
    code, text, _ = tickets(capsys, "dlq", "list")
    assert code == 0 and len(text.splitlines()) == held_back + 2
    assert "parked" in text and f"{events} {sent[0].partition}:{sent[0].offset}" in text
    assert not any(e.ticket_number in text for e in envelopes)  # no record contents printed
    code, text, _ = tickets(capsys, "dlq", "list", "--group", "intake")
    assert code == 0 and text.startswith("(no dead letters on")

    # The cause is fixed (every desk known): replay the desk's letters, twice over, partition by partition.
    before = records_on(kafka_broker, events)
    by_partition: dict[int, list[str]] = {}
    for row in desk_letters:
        by_partition.setdefault(row["dlq_partition"], []).append(str(row["dlq_offset"]))
    for partition, offsets in by_partition.items():
        options = [f"--offset={o}" for o in reversed(offsets)]  # replayed in dlq order all the same
        code, out, err = tickets(capsys, "dlq", "replay", "--partition", str(partition), "--dry-run",
                                 "--json", *options)
        assert code == 0, err
        assert [r["sent"] for r in json.loads(out)] == [None] * len(offsets)
    assert records_on(kafka_broker, events) == before  # a dry run sends nothing
    replayed = []
    for _ in range(2):
        for partition, offsets in by_partition.items():
            code, out, err = tickets(capsys, "dlq", "replay", "--partition", str(partition), "--json",
                                     *[f"--offset={o}" for o in reversed(offsets)])
            assert code == 0, err
            rows = json.loads(out)
            assert [r["dlq_offset"] for r in rows] == sorted(int(o) for o in offsets)
            replayed += rows
    assert len(replayed) == 2 * held_back and all(r["topic"] == events and r["sent"] for r in replayed)
    fixed = InThread(build_consumer(settings, "projections", **FAST))
    try:
        wait_until(lambda: count(store, "audit_trail") == written, 60, "the replayed events")
    finally:
        fixed.halt()
    assert fixed.member.stats.dead_letters == 0
    assert count(store, "audit_trail") == written  # each replayed event applied once
    projections = select_projections(settings)
    assert projection_rows(store, projections) == rebuild(settings, postgres_server.create_schema().dsn)
    store.close()


def test_a_letter_whose_original_cannot_be_had_is_one_line_naming_it_and_nothing_is_sent(
    env: dict[str, str], kafka_broker: KafkaEndpoint, kafka_topic_prefix: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    events, dlq = kafka_topic_prefix + "tickets.events", kafka_topic_prefix + "tickets.dlq"
    original = poison_bytes(80_000, 5)  # over a small letter's limit: the letter keeps only its start
    at = send_raw(kafka_broker, events, [original])[0]
    small = DEAD_LETTER_MIN_BYTES

    def letter(value: bytes, offset: int) -> Any:
        return DeadLetter("not msgpack", events, at.partition, offset, None, None, value, []).record(
            kafka_topic_prefix + "projections", small)

    good = letter(original, at.offset)
    mismatched = letter(poison_bytes(80_000, 6), at.offset)  # another record's digest
    gone = letter(original, at.offset + 1000)  # nothing there (as after the topic's retention)
    producer = KafkaProducer(bootstrap_servers=kafka_broker.bootstrap_servers)
    futures = [producer.send(dlq, partition=0, key=r.key, value=r.value, headers=r.headers)
               for r in (good, mismatched, gone)]
    futures.append(producer.send(dlq, partition=0, value=b"\xc1 not a dead letter"))
    producer.flush()
    good_at, mismatched_at, gone_at, junk_at = (f.get(10).offset for f in futures)
    producer.close()
    before = records_on(kafka_broker, events)
    refusals = [(mismatched_at, "digest_mismatch"), (gone_at, "original_gone"),
                (junk_at, "dead_letter"), (junk_at + 50, "dead_letter_exists")]
    for offset, rule in refusals:
        code, out, err = tickets(capsys, "dlq", "replay", "--offset", str(good_at), "--offset",
                                 str(offset), "--timeout", "3")
        errors = [line for line in err.splitlines() if line.startswith("error:")]
        assert code == 1 and out == "" and "Traceback" not in err, err
        assert len(errors) == 1 and f"0:{offset}" in errors[0] and f"rule={rule}" in errors[0], err
    assert records_on(kafka_broker, events) == before  # the good letter beside them was not sent either
    code, text, _ = tickets(capsys, "dlq", "list")
    assert code == 0 and f"0:{junk_at}" in text and "(not a dead letter)" in text
    assert "truncated" in text
    code, out, err = tickets(capsys, "dlq", "replay", "--offset", str(good_at))
    assert code == 0, err
    assert out.startswith(f"replayed 0:{good_at} -> {events} ")
    assert records_on(kafka_broker, events) == before + 1
