"""A batch of intake commands: written together when it can be, one at a time when it must, once each."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack
import pytest
from eventsourcing.persistence import IntegrityError
from structlog.testing import capture_logs

from tests.unit.legacy_events import V1_NUMBER, store_v1_opened, store_v1_receipt
from tickets.application.clock import VirtualClock
from tickets.application.desk import TicketDesk
from tickets.config import persistence_env
from tickets.consumers.dead_letters import decode_dead_letter
from tickets.consumers.intake_apply import apply_commands
from tickets.consumers.intake_messages import Command, IntakeRecord
from tickets.consumers.intake_outputs import answers_for
from tickets.consumers.kafka_settings import Topics
from tickets.consumers.staging import StagingBypassedError, StagingDesk
from tickets.domain.actor import Actor
from tickets.domain.catalogue import Catalogue

SERVICE = Actor("service", "webform")
RECORD = IntakeRecord("tickets.intake", 0, 0, b"", [("service", b"webform")])


@pytest.fixture(autouse=True)
def _logs_kept_in_memory() -> Iterator[None]:
    """Whatever another test configured structlog to write to (a closed stream, say), not here."""
    with capture_logs():
        yield


@pytest.fixture
def staging_desk(catalogue: Catalogue, clock: VirtualClock) -> StagingDesk:
    return StagingDesk(catalogue, clock=clock, env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
                       rng=random.Random(7))


def opening(command_id: str, **extra: Any) -> dict[str, Any]:
    return {"command_id": command_id, "type": "open", "desk": "o365", "requester": "c-1",
            "requester_role": "admin", "title": "Mail down", "severity": "B",
            "at": "2026-11-16T10:00:00Z", **extra}


def change(command_id: str, kind: str, ticket: str, minute: int, **extra: Any) -> dict[str, Any]:
    return {"command_id": command_id, "type": kind, "ticket": ticket,
            "at": f"2026-11-16T10:{minute:02d}:00Z", **extra}


def commands(*messages: dict[str, Any]) -> list[Command]:
    return [Command(RECORD, m, SERVICE) for m in messages]


def notifications(desk: StagingDesk) -> int:
    return len(desk.notification_log.select(start=1, limit=1000))


def test_a_batch_is_written_in_one_transaction_and_later_commands_see_earlier_ones(
    staging_desk: StagingDesk,
) -> None:
    number = apply_commands(staging_desk, commands(opening("o-1")))[0].answer.ticket_number
    assert number is not None
    writes: list[int] = []
    write = staging_desk.write_staged

    def counting(events: Any) -> Any:
        writes.append(len(events))
        return write(events)

    staging_desk.write_staged = counting  # type: ignore[method-assign]
    done = apply_commands(staging_desk, commands(
        change("a-1", "assign", number, 5, agent="a-1"), change("r-1", "respond", number, 6),
        change("q-1", "request_info", number, 7), change("q-2", "request_info", number, 8),
        opening("o-2")))
    assert [d.answer.accepted for d in done] == [True, True, True, False, True]
    assert done[3].answer.error and done[3].answer.error["rule"] == "info_request_pending"
    assert [d.answer.version for d in done[:3]] == [2, 3, 4]
    assert writes == [8]  # three changes and one new ticket, each with its receipt: one write
    assert [e.type for e in staging_desk.history(number)] == [
        "Opened", "Assigned", "Responded", "InfoRequested"]


def test_a_command_sent_twice_in_one_batch_is_applied_once(staging_desk: StagingDesk) -> None:
    done = apply_commands(staging_desk, commands(opening("o-1"), opening("o-1")))
    first, again = (d.answer for d in done)
    assert first.accepted and again.accepted and again.duplicate
    assert again.ticket_number == first.ticket_number
    assert len(list(staging_desk.opened_ticket_ids())) == 1


def test_a_redelivered_batch_is_answered_from_receipts_and_applied_once(
    staging_desk: StagingDesk,
) -> None:
    number = apply_commands(staging_desk, commands(opening("o-1")))[0].answer.ticket_number
    assert number is not None
    batch = commands(change("r-1", "respond", number, 6), change("c-1", "close", number, 7,
                                                               reason="resolved"))
    first = [d.answer for d in apply_commands(staging_desk, batch)]
    written = notifications(staging_desk)
    again = [d.answer for d in apply_commands(staging_desk, batch)]
    assert notifications(staging_desk) == written
    assert all(a.accepted and a.duplicate for a in again)
    assert [(a.ticket_id, a.version) for a in again] == [(f.ticket_id, f.version) for f in first]


def test_a_refused_command_that_was_applied_before_gets_its_first_answer(
    staging_desk: StagingDesk,
) -> None:
    number = apply_commands(staging_desk, commands(opening("o-1")))[0].answer.ticket_number
    assert number is not None
    close = change("c-1", "close", number, 7, reason="resolved")
    apply_commands(staging_desk, commands(close))
    # In a staged batch the close is refused by its own effect (already closed) without a write
    # clash: the stored receipt turns the refusal into the first answer.
    done = apply_commands(staging_desk, commands(change("x-1", "respond", number, 8), close))
    assert done[0].answer.error and done[0].answer.error["rule"] == "ticket_closed"
    assert done[1].answer.accepted and done[1].answer.duplicate


def test_a_write_the_store_refuses_leaves_nothing_and_the_batch_goes_one_by_one(
    staging_desk: StagingDesk,
) -> None:
    number = apply_commands(staging_desk, commands(opening("o-1")))[0].answer.ticket_number
    assert number is not None
    stale = staging_desk.get(number)
    staging_desk.respond(number, actor=Actor("agent", "a-2"))  # another writer, outside the batch
    before = notifications(staging_desk)
    with pytest.raises(IntegrityError), staging_desk.staging():
        stale.assign("a-1", "front_line", desk=staging_desk.catalogue.desk(stale.desk),
                     at=staging_desk.clock.now(), now=staging_desk.clock.now(),
                     actor=Actor("agent", "a-1"), channel="intake")
        staging_desk.save(stale)
    assert notifications(staging_desk) == before


def test_a_ticket_number_drawn_twice_in_one_batch_is_drawn_again(catalogue: Catalogue,
                                                                 clock: VirtualClock) -> None:
    desk = StagingDesk(catalogue, clock=clock, env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
                       rng=random.Random(7))
    first = apply_commands(desk, commands(opening("o-1")))[0].answer.ticket_number
    desk._rng = random.Random(7)  # the same draws again: the first number is taken
    done = apply_commands(desk, commands(opening("o-2"), opening("o-3")))
    numbers = {first, *(d.answer.ticket_number for d in done)}
    assert len(numbers) == 3 and all(d.answer.accepted for d in done)


def test_reading_history_while_staging_is_refused(staging_desk: StagingDesk) -> None:
    with pytest.raises(StagingBypassedError), staging_desk.staging():
        staging_desk.history("MSO-7K3M9Q")


def test_an_unexpected_fault_is_answered_and_dead_lettered_while_the_rest_apply(
    staging_desk: StagingDesk, monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = StagingDesk.close_ticket

    def broken(self: StagingDesk, *args: Any, **kwargs: Any) -> Any:
        raise KeyError("a bug")

    monkeypatch.setattr(StagingDesk, "close_ticket", broken)
    number = apply_commands(staging_desk, commands(opening("o-1")))[0].answer.ticket_number
    assert number is not None
    with capture_logs() as logged:
        done = apply_commands(staging_desk, commands(
            change("c-1", "close", number, 5, reason="resolved"), change("r-1", "respond", number, 6)))
    assert [e["event"] for e in logged] == ["intake_batch_retried_one_by_one", "intake_command_failed"]
    assert logged[1]["error"] == "KeyError" and "a bug" not in str(logged)
    assert done[0].answer.error and done[0].answer.error["rule"] == "internal_error"
    assert done[0].dead_letter_reason == "internal error: KeyError"
    assert done[1].answer.accepted and done[1].dead_letter_reason is None
    monkeypatch.setattr(StagingDesk, "close_ticket", original)


def test_answers_for_a_batch_answer_every_record_and_dead_letter_the_malformed(
    staging_desk: StagingDesk,
) -> None:
    topics = Topics("p.")
    good = IntakeRecord("p.tickets.intake", 1, 10, msgpack.packb(opening("o-1")),
                        [("service", b"webform")], key=b"k", timestamp_ms=5)
    bad = IntakeRecord("p.tickets.intake", 1, 11, b"\xc1", [("service", b"webform")])
    outcome = answers_for(staging_desk, [good, bad], topics, "p.intake", None)
    assert (outcome.accepted, outcome.rejected, len(outcome.dead_letters)) == (1, 1, 1)
    answer_good, answer_bad, letter = outcome.outgoing
    assert (answer_good.topic, answer_good.key) == ("p.tickets.intake.results", b"o-1")
    assert msgpack.unpackb(answer_good.value)["status"] == "accepted"
    assert dict(answer_good.headers)["service"] == b"webform"
    assert dict(answer_good.headers)["status"] == b"accepted"
    assert answer_bad.key == b"1:11"
    assert msgpack.unpackb(answer_bad.value)["error"]["rule"] == "msgpack"
    assert letter.topic == "p.tickets.dlq"
    kept = decode_dead_letter(letter.value)
    assert (kept["topic"], kept["partition"], kept["offset"], kept["value"]) == (
        "p.tickets.intake", 1, 11, b"\xc1")
    assert kept["reason"].startswith("command: msgpack")


def test_what_the_intake_writes_about_a_huge_record_stays_small(staging_desk: StagingDesk) -> None:
    """A 1 MiB field name, actor or service header is quoted in no answer, log or dead letter whole."""
    topics = Topics("p.")
    huge = "x" * 1_100_000
    records = [
        IntakeRecord("p.tickets.intake", 0, 1, msgpack.packb({**opening("o-1"), huge: 1}),
                     [("service", b"webform")]),
        IntakeRecord("p.tickets.intake", 0, 2, msgpack.packb(opening("o-2", actor=huge)),
                     [("service", b"webform")]),
        IntakeRecord("p.tickets.intake", 0, 3, msgpack.packb(opening("o-3")),
                     [("service", huge.encode())]),
    ]
    outcome = answers_for(staging_desk, records, topics, "p.intake", None, dead_letter_max_bytes=200_000)
    assert outcome.rejected == 3 and len(outcome.dead_letters) == 3
    answers = [o for o in outcome.outgoing if o.topic == topics.intake_results]
    assert all(len(o.value) + sum(len(v) for _, v in o.headers) < 4096 for o in answers)
    assert all(len(letter.reason) <= 1000 for letter in outcome.dead_letters)
    for sent in (o for o in outcome.outgoing if o.topic == topics.dlq):
        kept = decode_dead_letter(sent.value)
        assert len(sent.value) + sum(len(v) for _, v in sent.headers) <= 200_000
        assert kept["value_size"] == len(records[kept["offset"] - 1].value or b"")


def test_a_staged_batch_sees_what_another_writer_recorded_since_the_last_batch(
    staging_desk: StagingDesk,
) -> None:
    number = apply_commands(staging_desk, commands(opening("o-1")))[0].answer.ticket_number
    assert number is not None
    apply_commands(staging_desk, commands(change("r-1", "respond", number, 5), opening("o-2")))
    staging_desk.close_ticket(number, "resolved", actor=Actor("agent", "a-2"))  # not via the intake
    calls: list[int] = []
    write = staging_desk.write_staged

    def counting(events: Any) -> Any:
        calls.append(len(events))
        return write(events)

    staging_desk.write_staged = counting  # type: ignore[method-assign]
    done = apply_commands(staging_desk, commands(change("r-2", "respond", number, 9),
                                                 opening("o-3")))
    assert done[0].answer.error and done[0].answer.error["rule"] == "ticket_closed"
    assert done[1].answer.accepted
    assert calls == [2]  # one write, not refused: the batch knew the ticket was closed


def test_the_intake_writes_the_desks_own_tables(tmp_path: Path, catalogue: Catalogue,
                                                clock: VirtualClock) -> None:
    env = persistence_env(f"sqlite:///{tmp_path / 'events.sqlite3'}")
    intake = StagingDesk(catalogue, clock=clock, env=env)
    number = apply_commands(intake, commands(opening("o-1"), opening("o-2")))[0].answer.ticket_number
    reader = TicketDesk(catalogue, clock=clock, env=env)
    assert number is not None and reader.get(number).status == "new"
    assert len(list(reader.opened_ticket_ids())) == 2


CHATBOT = Actor("service", "chatbot")


def from_service(service: Actor, *messages: dict[str, Any]) -> list[Command]:
    return [Command(RECORD, m, service) for m in messages]


@pytest.mark.parametrize("together", [True, False])
def test_another_services_command_id_is_another_command_over_the_intake(
    staging_desk: StagingDesk, together: bool
) -> None:
    mine = from_service(SERVICE, opening("shared"))
    theirs = from_service(CHATBOT, opening("shared", title="Other"))
    if together:
        done = apply_commands(staging_desk, mine + theirs)
    else:
        done = apply_commands(staging_desk, mine) + apply_commands(staging_desk, theirs)
    assert [d.answer.accepted and not d.answer.duplicate for d in done] == [True, True]
    assert done[0].answer.ticket_number != done[1].answer.ticket_number
    again = apply_commands(staging_desk, theirs)[0].answer
    assert again.duplicate and again.ticket_number == done[1].answer.ticket_number


@pytest.mark.parametrize("reused", [
    opening("o-1", title="Different"), opening("o-1", severity="A"),
    change("o-1", "respond", "MSO-7K3M9Q", 5), change("o-1", "close", "MSO-7K3M9Q", 5,
                                                      reason="resolved"),
])
@pytest.mark.parametrize("together", [True, False])
def test_a_command_id_reused_for_a_different_command_is_rejected_over_the_intake(
    staging_desk: StagingDesk, reused: dict[str, Any], together: bool
) -> None:
    first = commands(opening("o-1"))
    done = apply_commands(staging_desk, first + commands(reused)) if together else (
        apply_commands(staging_desk, first) + apply_commands(staging_desk, commands(reused)))
    assert done[0].answer.accepted
    refused = done[1].answer
    assert not refused.accepted and refused.command_id == "o-1"
    assert refused.error is not None
    assert (refused.error["field"], refused.error["rule"]) == ("command_id", "command_id_reused")
    assert len(list(staging_desk.opened_ticket_ids())) == 1


@pytest.mark.parametrize(("actor", "rule"), [
    ("system:scheduler", "system_actor"), ("system:anything", "system_actor"),
    ("agent:a-1", "act_for_requesters"), ("service:chatbot", "act_for_requesters"),
])
def test_a_service_on_the_intake_may_not_act_as_the_system_or_an_agent(
    staging_desk: StagingDesk, actor: str, rule: str
) -> None:
    number = apply_commands(staging_desk, commands(opening("o-1")))[0].answer.ticket_number
    assert number is not None
    [done] = apply_commands(staging_desk, commands(
        change("e-1", "escalate", number, 5, reason="complaint", actor=actor)))
    assert done.answer.error is not None
    assert (done.answer.error["field"], done.answer.error["rule"]) == ("actor", rule)
    assert [e.type for e in staging_desk.history(number)] == ["Opened"]


def test_a_command_answered_by_a_version_1_receipt_is_not_applied_again_in_a_batch(
    staging_desk: StagingDesk,
) -> None:
    """A resend across the upgrade to receipts scoped by sender: the unscoped receipt answers."""
    ticket_id = store_v1_opened(staging_desk)  # recorded as service:webform
    store_v1_receipt(staging_desk, "old-1", ticket_id, V1_NUMBER)
    reply = {"command_id": "old-1", "type": "respond", "ticket": V1_NUMBER,
             "at": "2026-11-16T09:30:00Z"}
    before = notifications(staging_desk)
    [applied] = apply_commands(staging_desk, [Command(RECORD, reply, Actor("service", "webform"))])
    assert applied.answer.accepted and applied.answer.duplicate
    assert notifications(staging_desk) == before  # nothing written again
    [other] = apply_commands(staging_desk, [Command(RECORD, reply, Actor("service", "chatbot"))])
    assert other.answer.accepted and not other.answer.duplicate  # another sender's own command
