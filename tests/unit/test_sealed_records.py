"""The publisher's fast path gives byte for byte the envelopes ``StoreReader.read`` encodes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import msgpack
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.conftest import AGENT, at, live_every_event_type
from tests.unit.legacy_events import store_v1_opened
from tickets.application.desk import TicketDesk
from tickets.consumers.read_ahead import outgoing
from tickets.consumers.store_reader import StoreReader
from tickets.wire.envelope import format_time, iso_wire_time


def test_fast_records_are_the_envelopes_bytes_for_every_event_type(desk: TicketDesk) -> None:
    live_every_event_type(desk, title="Zoë's “printer”")
    envelopes = StoreReader(desk).read(0, 100)
    records = StoreReader(desk).read_records(0, 100)
    assert [r.value for r in records] == [e.encode() for e in envelopes]
    assert [(r.position, r.hash, r.number, r.desk) for r in records] == [
        (e.position, e.hash, e.ticket_number, e.desk) for e in envelopes]
    assert len({r.type for r in records}) == 9


def test_an_event_the_fast_path_does_not_know_goes_the_mappers_way_with_the_same_bytes(
    desk: TicketDesk,
) -> None:
    store_v1_opened(desk)  # needs upcasting: only the library's mapper reads it
    desk.assign("NLV-0V1ABC", "a-1", actor=AGENT, at=at("2026-11-16T10:00:00+00:00"))
    envelopes = StoreReader(desk).read(0, 100)
    records = StoreReader(desk).read_records(0, 100)
    assert [r.value for r in records] == [e.encode() for e in envelopes]
    assert msgpack.unpackb(records[0].value)["payload"]["fields"]["contact_name"] == "Ann"


def test_reading_in_batches_keeps_the_chain_of_reading_at_once(desk: TicketDesk) -> None:
    live_every_event_type(desk, title="Zoë's “printer”")
    live_every_event_type(desk, title="Zoë's “printer”")
    at_once = outgoing(StoreReader(desk), 0, 100)
    reader, batches, after = StoreReader(desk, cache_size=1), [], 0
    while batch := outgoing(reader, after, 3):
        batches += batch
        after = batch[-1][0]
    assert batches == at_once


@given(st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 1, 1)))
def test_a_utc_iso_time_becomes_the_envelopes_wire_time(moment: datetime) -> None:
    aware = moment.replace(tzinfo=UTC)
    assert iso_wire_time(aware.isoformat()) == format_time(aware)


def test_a_time_not_in_utc_becomes_the_same_wire_time() -> None:
    plus_one = datetime(2026, 3, 2, 8, tzinfo=UTC).astimezone(timezone(timedelta(hours=1)))
    assert iso_wire_time(plus_one.isoformat()) == format_time(plus_one) == "2026-03-02T08:00:00.000000Z"
