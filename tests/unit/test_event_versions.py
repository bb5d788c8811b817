"""Events evolve: events written by an older class version are upcast when read."""

from __future__ import annotations

from tests.unit.legacy_events import V1_NUMBER, store_v1_opened, store_v1_receipt
from tickets.application.commands import execute
from tickets.application.desk import TicketDesk
from tickets.domain.actor import Actor
from tickets.domain.receipts import CommandReceipt
from tickets.domain.ticket import Ticket


def test_opened_v1_with_contact_fields_loads_as_v2(desk: TicketDesk) -> None:
    store_v1_opened(desk)
    ticket = desk.get(V1_NUMBER)
    assert ticket.fields == {"contact_name": "Ann", "contact_email": "ann@example.org"}
    assert Ticket.Opened.class_version == 2
    assert desk.history(V1_NUMBER)[0].payload["fields"]["contact_name"] == "Ann"


def test_a_v1_receipt_loads_and_answers_its_own_sender_only(desk: TicketDesk) -> None:
    ticket_id = store_v1_opened(desk)  # recorded as service:webform
    store_v1_receipt(desk, "old-1", ticket_id, V1_NUMBER)
    assert CommandReceipt.Issued.class_version == 2
    reply = {"command_id": "old-1", "type": "respond", "ticket": V1_NUMBER}
    again = execute(desk, {**reply}, Actor("service", "webform"))
    assert again.accepted and again.duplicate and again.ticket_number == V1_NUMBER
    other = execute(desk, {**reply}, Actor("service", "chatbot"))
    assert other.accepted and not other.duplicate and other.version == 2


def test_an_opened_event_stored_without_a_level_starts_at_the_front_line(desk: TicketDesk) -> None:
    """``level`` joined ``Opened`` without a new class version: events stored before it load at
    the front line, and their payload (which the audit hash covers) stays as it was written."""
    store_v1_opened(desk)
    assert desk.get(V1_NUMBER).level == "front_line"
    assert "level" not in desk.history(V1_NUMBER)[0].payload
    assert desk.facts(V1_NUMBER).level == "front_line"
    assert desk.facts(V1_NUMBER).requester_role == "user"
