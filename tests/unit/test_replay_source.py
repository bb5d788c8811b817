"""The replay source: the store's log sealed into the same envelopes the live feed reads."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.unit.replay_week import sqlite_desk, write_week
from tickets.consumers.store_reader import StoreReader
from tickets.domain.catalogue import Catalogue
from tickets.domain.facts import fold_all
from tickets.projections import facts_state
from tickets.projections.audit_entry import payload_text
from tickets.projections.audit_trail import entry_row
from tickets.projections.facts_state import dump_facts, load_facts, time_text
from tickets.replay.log_source import LogSource, Sealed, canonical_payload
from tickets.replay.source import StoreSource
from tickets.wire.envelope import Envelope, format_time, iso_wire_time


def test_the_source_seals_exactly_what_the_live_reader_seals(tmp_path: Path, catalogue: Catalogue) -> None:
    desk = sqlite_desk(tmp_path / "events.sqlite3", catalogue)
    write_week(desk, tickets=20)
    live = StoreReader(desk).read(0, 10_000)
    batch = StoreSource(desk).read(0, 10_000)
    assert [e.as_map() for e in batch.envelopes] == [e.as_map() for e in live]
    assert batch.end == live[-1].position
    for envelope in batch.envelopes:
        plain = Envelope(**envelope.as_map())
        assert envelope.entry() == plain.entry()
        assert envelope.occurred == plain.occurred


def test_parts_split_the_tickets_without_overlap_and_resume_from_a_position(
    tmp_path: Path, catalogue: Catalogue
) -> None:
    desk = sqlite_desk(tmp_path / "events.sqlite3", catalogue)
    write_week(desk, tickets=20)
    everything = StoreSource(desk).read(0, 10_000).envelopes
    halves = [StoreSource(desk, (k, 2)).read(0, 10_000).envelopes for k in (0, 1)]
    assert {e.ticket_id for e in halves[0]}.isdisjoint({e.ticket_id for e in halves[1]})
    assert sorted(e.position for half in halves for e in half) == [e.position for e in everything]
    middle = everything[len(everything) // 2].position
    later = StoreSource(desk).read(middle, 10_000).envelopes
    assert [e.as_map() for e in later] == [e.as_map() for e in everything if e.position > middle]
    assert StoreSource(desk).read(everything[-1].position, 10).envelopes == []


def test_the_rebuild_source_gives_the_audit_rows_and_entries_of_the_live_seal(
    tmp_path: Path, catalogue: Catalogue
) -> None:
    desk = sqlite_desk(tmp_path / "events.sqlite3", catalogue)
    write_week(desk, tickets=30)
    live = StoreReader(desk).read(0, 10_000)
    rows = [(e.ticket_id, e.version, e.ticket_number, e.desk, e.type, e.occurred_at, e.recorded_at,
             e.actor, e.channel, payload_text(e.payload), e.prev_hash, e.hash, e.position)
            for e in live]
    events, end = LogSource(desk).read(0, 10_000)
    assert [e.row for e in events] == rows and end == live[-1].position
    assert [e.entry for e in events] == [e.entry() for e in live]
    assert [e.envelope().as_map() for e in events] == [e.as_map() for e in live]
    assert [entry_row(e.envelope()) for e in events] == [entry_row(e) for e in live] == rows
    assert [Sealed.of(e).row for e in live] == rows
    parts = [LogSource(desk, (k, n)).read(0, 10_000)[0] for n in (2, 3) for k in range(n)]
    assert sorted(e.row for part in parts for e in part) == sorted(rows * 2)
    later, _ = LogSource(desk).read(live[40].position, 25)
    assert [e.row for e in later] == rows[41:66]  # a ticket's chain picks up mid-way


def test_the_rebuild_texts_equal_the_projections_texts(tmp_path: Path, catalogue: Catalogue) -> None:
    desk = sqlite_desk(tmp_path / "events.sqlite3", catalogue)
    numbers = write_week(desk, tickets=30)
    for number in numbers:
        facts = fold_all(desk.history(number))
        assert load_facts(dump_facts(facts)) == facts
        assert dump_facts(facts) == facts_state._dump_any(facts)  # the spelled-out fields: all
    for envelope in StoreReader(desk).read(0, 10_000):
        assert canonical_payload(envelope.payload) == payload_text(envelope.payload)
        assert time_text(envelope.entry().occurred_at) == format_time(envelope.entry().occurred_at)
    odd = {"reason": "ünïcode \"quoted\"", "n": 3, "x": 1.5, "none": None, "list": [1, "a"]}
    assert canonical_payload(odd) == payload_text(odd)
    paris = datetime(2026, 11, 16, 9, 30, 0, 12, tzinfo=ZoneInfo("Europe/Paris"))
    assert time_text(paris) == format_time(paris)
    assert iso_wire_time(paris.isoformat()) == format_time(paris)
