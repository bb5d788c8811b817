"""The fast read of stored events gives exactly what the library's mapper gives."""

from __future__ import annotations

from tests.unit.conftest import AGENT, CUSTOMER, SERVICE, at, live_every_event_type
from tests.unit.legacy_events import store_v1_opened
from tickets.application.desk import TicketDesk
from tickets.consumers.store_reader import StoreReader
from tickets.consumers.stored_entries import history_entry
from tickets.domain.history import entry_of
from tickets.domain.ticket import TICKET_TOPICS


def test_fast_entries_equal_the_mappers_for_every_event_type(desk: TicketDesk) -> None:
    live_every_event_type(desk)
    old = store_v1_opened(desk)
    stored = desk.recorder.select_notifications(start=1, limit=100)
    fast = [history_entry(s, desk.mapper) for s in stored if s.topic in TICKET_TOPICS]
    slow = [entry_of(desk.mapper.to_domain_event(s)) for s in stored
            if s.topic in TICKET_TOPICS]
    assert fast == slow
    assert len({e.type for e in fast}) == 9  # all but Reopened: this desk does not reopen
    assert any(e.ticket_id == old and e.payload["fields"]["contact_name"] == "Ann" for e in fast)


def test_a_sealed_envelopes_entry_is_the_one_its_fields_give(desk: TicketDesk) -> None:
    n = desk.open(desk="zoom", plan="premier-plus", severity="P2", requester=CUSTOMER.id,
                  requester_role="admin", title="T", fields={"contact_name": "Ann"},
                  actor=SERVICE, at=at("2026-11-02T09:00:00+01:00")).number
    desk.request_info(n, actor=AGENT, at=at("2026-11-02T09:04:00+01:00"))
    desk.close_ticket(n, "resolved", actor=AGENT, at=at("2026-11-05T11:00:00+01:00"))
    envelopes = StoreReader(desk).read(0, 100)
    assert len(envelopes) == 3
    for envelope in envelopes:
        entry = envelope.history_entry
        assert entry == envelope.entry()
        assert type(entry.ticket_id) is type(envelope.entry().ticket_id)
        assert entry.occurred_at.tzinfo is envelope.entry().occurred_at.tzinfo
