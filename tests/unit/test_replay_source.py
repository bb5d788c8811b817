"""The replay source: the store's log sealed into the same envelopes the live feed reads."""

from __future__ import annotations

from pathlib import Path

from consumers.envelope import Envelope
from consumers.store_reader import StoreReader
from domain.catalogue import Catalogue
from replay.source import StoreSource
from tests.unit.replay_week import sqlite_desk, write_week


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
