"""Events evolve: events written by an older class version are upcast when read."""

from __future__ import annotations

from domain.desk import TicketDesk
from domain.ticket import Ticket
from tests.unit.legacy_events import V1_NUMBER, store_v1_opened


def test_opened_v1_with_contact_fields_loads_as_v2(desk: TicketDesk) -> None:
    store_v1_opened(desk)
    ticket = desk.get(V1_NUMBER)
    assert ticket.fields == {"contact_name": "Ann", "contact_email": "ann@example.org"}
    assert Ticket.Opened.class_version == 2
    assert desk.history(V1_NUMBER)[0].payload["fields"]["contact_name"] == "Ann"
