"""A store and a topic sample recorded before the packages moved under ``tickets`` still hold.

``tests/fixtures/before_one_house`` holds an SQLite event store written by the engine when its
packages were top-level (stored topics ``domain.ticket:Ticket.*``) and the envelopes its feed put on
``tickets.events`` then. Every stored event type is in it, and one command receipt.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

import msgpack
import pytest

from tickets.application.desk import TicketDesk
from tickets.config import load_settings
from tickets.consumers.store_reader import StoreReader
from tickets.domain.actor import Actor
from tickets.wire.envelope import decode
from tickets.wiring import build_desk

RECORDED = Path(__file__).parent.parent / "fixtures" / "before_one_house"


def recorded_envelopes() -> list[bytes]:
    return list(msgpack.unpackb((RECORDED / "envelopes.msgpack").read_bytes(), raw=False))


@pytest.fixture
def recorded_desk(tmp_path: Path) -> TicketDesk:
    shutil.copy(RECORDED / "events.sqlite3", tmp_path / "events.sqlite3")
    return build_desk(load_settings({}, home=str(tmp_path)))


def test_the_recorded_store_seals_into_the_recorded_envelopes_byte_for_byte(
        recorded_desk: TicketDesk) -> None:
    sealed = [envelope.encode() for envelope in StoreReader(recorded_desk).read(0, 1000)]
    assert sealed == recorded_envelopes()


def test_every_recorded_envelope_decodes_and_encodes_to_the_same_bytes() -> None:
    samples = recorded_envelopes()
    assert {decode(sample).type for sample in samples} >= {
        "Opened", "SeveritySet", "Assigned", "Responded", "InfoRequested", "CustomerReplied",
        "Escalated", "AutoCloseWarned", "Closed", "Reopened"}
    assert [decode(sample).encode() for sample in samples] == samples


def test_the_recorded_tickets_load_with_their_whole_history(recorded_desk: TicketDesk) -> None:
    numbers = {decode(sample).ticket_number for sample in recorded_envelopes()}
    assert len(numbers) == 2
    for number in numbers:
        ticket = recorded_desk.get(number)
        assert len(recorded_desk.history(number)) == ticket.version >= 4
    assert list(recorded_desk.opened_ticket_ids()) == [recorded_desk.ticket_id(n) for n in sorted(
        numbers, key=lambda n: not n.startswith("ZOOM"))]


def test_a_recorded_receipt_still_answers_its_command(recorded_desk: TicketDesk) -> None:
    answer = recorded_desk.receipt("cmd-1")
    assert answer is not None and answer.duplicate and answer.number.startswith("NLV-")
    assert recorded_desk.legacy_receipts_stored() is False


def test_a_store_holding_old_and_new_topics_reads_as_one_history(recorded_desk: TicketDesk) -> None:
    stored = {n.topic for n in recorded_desk.recorder.select_notifications(start=1, limit=1000)}
    assert stored and all(topic.startswith("domain.") for topic in stored)  # recorded before the move
    number = next(decode(s).ticket_number for s in recorded_envelopes() if decode(s).type == "Reopened")
    when = datetime.fromisoformat(decode(recorded_envelopes()[-1]).occurred_at) + timedelta(minutes=5)
    recorded_desk.respond(number, actor=Actor("agent", "a-1"), at=when)
    envelopes = StoreReader(recorded_desk).read(0, 1000)
    assert [e.encode() for e in envelopes[:-1]] == recorded_envelopes()
    last = envelopes[-1]
    assert (last.type, last.ticket_number, last.version) == ("Responded", number, 5)
    assert last.prev_hash == decode(recorded_envelopes()[-1]).hash
    assert recorded_desk.recorder.select_notifications(start=1, limit=1000)[-1].topic.startswith("tickets.")
