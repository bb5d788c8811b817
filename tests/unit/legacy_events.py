"""Events as an older version of the engine wrote them, stored behind the application's back."""

from __future__ import annotations

import json
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from tickets.application.desk import TicketDesk
from tickets.domain.numbers import ticket_id_for
from tickets.domain.receipts import CommandReceipt, receipt_id
from tickets.domain.ticket import Ticket

V1_NUMBER = "NLV-0V1ABC"


def store_v1_opened(desk: TicketDesk, number: str = V1_NUMBER) -> UUID:
    """An ``Opened`` v1 event: contact details as fields of their own, no ``class_version``."""
    ticket_id = ticket_id_for(number)
    v1_state = {
        "originator_topic": get_topic(Ticket),
        "timestamp": {"_type_": "datetime_iso", "_data_": "2026-11-16T09:00:00.100000+00:00"},
        "occurred_at": {"_type_": "datetime_iso", "_data_": "2026-11-16T09:00:00+00:00"},
        "actor": "service:webform", "channel": "web", "number": number, "desk": "nl-vendor",
        "policy_version": 1, "plan": "standard", "category": "technical", "severity": "normal",
        "requester": "c-1", "requester_role": "user", "title": "Old ticket",
        "contact_name": "Ann", "contact_email": "ann@example.org",
    }
    desk.recorder.insert_events([StoredEvent(
        originator_id=ticket_id, originator_version=1, topic=get_topic(Ticket.Opened),
        state=json.dumps(v1_state).encode(),
    )])
    return ticket_id


def store_v1_receipt(desk: TicketDesk, command_id: str, ticket_id: UUID, number: str) -> None:
    """A ``CommandReceipt.Issued`` v1: keyed by the command id alone, no sender, no digest."""
    state = {"originator_topic": get_topic(CommandReceipt),
             "timestamp": {"_type_": "datetime_iso", "_data_": "2026-11-16T09:00:00.200000+00:00"},
             "command_id": command_id, "ticket_id": {"_type_": "uuid_hex", "_data_": ticket_id.hex},
             "number": number, "version": 1}
    desk.recorder.insert_events([StoredEvent(
        originator_id=receipt_id(command_id), originator_version=1,
        topic=get_topic(CommandReceipt.Issued), state=json.dumps(state).encode())])
