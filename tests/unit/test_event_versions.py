"""Events evolve: events written by an older class version are upcast when read."""

from __future__ import annotations

import json

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from domain.desk import TicketDesk
from domain.numbers import ticket_id_for
from domain.ticket import Ticket


def test_opened_v1_with_contact_fields_loads_as_v2(desk: TicketDesk) -> None:
    number = "NLV-0V1ABC"
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
    stored = StoredEvent(
        originator_id=ticket_id, originator_version=1, topic=get_topic(Ticket.Opened),
        state=json.dumps(v1_state).encode(),
    )
    desk.recorder.insert_events([stored])
    ticket = desk.get(number)
    assert ticket.fields == {"contact_name": "Ann", "contact_email": "ann@example.org"}
    assert Ticket.Opened.class_version == 2
    assert desk.history(number)[0].payload["fields"]["contact_name"] == "Ann"
