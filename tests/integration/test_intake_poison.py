"""Poison on tickets.intake never holds the intake: records of 1 MiB and more, huge headers and fields,
and answers or dead letters the broker refuses (parked after a few attempts). Every poison is
answered once and findable on tickets.dlq; the commands after it are applied and answered once; the
offsets move past it."""

from __future__ import annotations

import dataclasses
import hashlib
import random
import time
from typing import Any

import msgpack
import pytest
import test_intake
from kafka_helpers import wait_until
from prometheus_client import REGISTRY
from test_intake import Service, committed_offsets, dead_letters, opening, running

from tickets import metrics
from tickets.consumers.intake import Intake
from tickets.consumers.kafka_settings import KafkaSettings
from tickets.consumers.staging import StagingDesk

pytestmark = pytest.mark.integration

kafka, desk, service = test_intake.kafka, test_intake.desk, test_intake.service  # the same fixtures

LARGE = [1_048_000, 1_048_450, 1_100_000, 5_000_000]
#: A producer that can send what the poison tests need (the test broker has no size limit).
BIG = {"max_request_size": 8_000_000}


def poison_bytes(size: int, seed: int) -> bytes:
    return b"\xc1" + random.Random(seed).randbytes(size - 1)


def settled(service: Service, count: int) -> list[tuple[str, dict[str, Any], dict[str, bytes]]]:
    """Every answer once ``count`` came, after a pause in which any answer sent twice would come too."""
    service.wait(count, timeout=60)
    time.sleep(1.5)
    return service.wait(count)


def check_letters(kafka: KafkaSettings, originals: dict[bytes, bytes]) -> list[dict[str, Any]]:
    """One dead letter per poison (found by its digest), within the limit, with reason and location."""
    letters = dead_letters(kafka, len(originals) + 1, timeout=5)  # and no more
    by_digest: dict[str, list[dict[str, Any]]] = {}
    for letter in letters:
        by_digest.setdefault(letter["value_sha256"], []).append(letter)
    for digest, original in originals.items():
        mine = by_digest.get(digest.hex(), [])
        assert len(mine) == 1, f"{len(mine)} dead letters for a poison of {len(original)} bytes"
        assert mine[0]["value_size"] == len(original) and original.startswith(mine[0]["value"])
        assert mine[0]["topic"] == kafka.topics.intake and mine[0]["reason"]
        assert isinstance(mine[0]["partition"], int) and isinstance(mine[0]["offset"], int)
    return letters


def test_large_poison_is_answered_once_kept_on_the_dlq_and_later_commands_answered_once(
    kafka: KafkaSettings, desk: StagingDesk, service: Service,
) -> None:
    sender = Service(kafka, **BIG)
    poison = [poison_bytes(size, n) for n, size in enumerate(LARGE)]
    huge_title = msgpack.packb(opening("o-huge", title="t" * 1_100_000), use_bin_type=True)
    unknown_field = msgpack.packb({**opening("o-field"), "x" * 1_100_000: 1}, use_bin_type=True)
    broken = [msgpack.packb(m, use_bin_type=True) for m in (
        opening("o-b1", desk=7), opening("o-b2", severity=None), opening("o-b3", title=b"bin"),
        {**opening("o-b4"), "type": "destroy"},
        {k: v for k, v in opening("o-b5").items() if k != "requester"})]
    intake = Intake(desk, kafka)
    with running(intake):
        sender.send(opening("o-before"), key=b"k")
        for value in poison:
            sender.send(value, raw=True, key=b"k")
        sender.send(huge_title, raw=True, key=b"k")
        sender.send(unknown_field, raw=True, key=b"k")
        huge_header = msgpack.packb(opening("o-huge-header"), use_bin_type=True)
        sender.send(huge_header, [("service", b"s" * 1_100_000)], raw=True, key=b"k")
        for value in broken:
            sender.send(value, raw=True, key=b"k")
        for n in range(5):
            sender.send(opening(f"o-after-{n}"), key=b"k")
        total = 1 + len(poison) + 3 + len(broken) + 5
        answers = settled(service, total)
    sender.close()
    assert len(answers) == total  # each record answered exactly once
    keys = [k for k, _, _ in answers]
    assert len(set(keys)) == total
    for n in range(5):
        assert service.answer(f"o-after-{n}")["status"] == "accepted"
    for key in ("o-huge", "o-field", "o-huge-header", "o-b1", "o-b2", "o-b3", "o-b4", "o-b5"):
        answer = service.answer(key)
        assert answer["status"] == "rejected" and answer["error"]["field"], key
        assert len(msgpack.packb(answer)) < 4096, key
    assert len(list(desk.opened_ticket_ids())) == 6
    kept = [*poison, unknown_field, huge_header, *broken]  # not the title: the desk refuses it
    check_letters(kafka, {hashlib.sha256(v).digest(): v for v in kept})
    assert intake.stats.parked == 0
    assert sum(committed_offsets(kafka, intake.group_id).values()) == total


def test_an_answer_or_dead_letter_the_broker_refuses_is_parked_and_the_intake_goes_on(
    kafka: KafkaSettings, desk: StagingDesk, service: Service,
) -> None:
    """The intake's producer limit stands for a broker with a smaller ``max.message.bytes``: the
    poison's dead letter is refused, tried again with growing waits, then parked."""
    sender = Service(kafka, **BIG)
    poison = [poison_bytes(600_000, 1), poison_bytes(2_000_000, 2)]
    small = poison_bytes(1_000, 3)
    intake = Intake(desk, dataclasses.replace(kafka, retry_backoff_s=0.05),
                    producer_overrides={"max_request_size": 300_000}, on_parked=metrics.record_parked)
    before = REGISTRY.get_sample_value("tickets_records_parked_total", {"group": intake.group_id}) or 0.0
    with running(intake):
        sender.send(opening("o-before"), key=b"k")
        for value in poison:
            sender.send(value, raw=True, key=b"k")
        sender.send(small, raw=True, key=b"k")
        for n in range(4):
            sender.send(opening(f"o-after-{n}"), key=b"k")
        total = 1 + len(poison) + 1 + 4
        answers = settled(service, total)
        wait_until(lambda: intake.stats.parked == 2, 30, "both poisons parked")
    sender.close()
    assert len(answers) == total and len({k for k, _, _ in answers}) == total
    assert all(service.answer(f"o-after-{n}")["status"] == "accepted" for n in range(4))
    assert intake.stats.parked == 2
    assert REGISTRY.get_sample_value("tickets_records_parked_total",
                                     {"group": intake.group_id}) == before + 2
    letters = check_letters(kafka, {hashlib.sha256(v).digest(): v for v in [*poison, small]})
    parked = sorted((letter for letter in letters if letter["parked"]), key=lambda x: x["value_size"])
    assert [p["value_size"] for p in parked] == [600_000, 2_000_000]
    assert all(p["value"] == b"" and p["reason"].startswith("parked: its dead letter") for p in parked)
    assert sum(committed_offsets(kafka, intake.group_id).values()) == total
    assert len(list(desk.opened_ticket_ids())) == 5
