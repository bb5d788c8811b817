"""The embedded feed keeps a stored event it cannot read aside and goes on past it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from eventsourcing.persistence import PersistenceError

from tests.unit.replay_week import sqlite_desk, write_week
from tickets.consumers.feed import EmbeddedFeed
from tickets.consumers.store_reader import TICKET_TOPICS, StoreReader
from tickets.domain.catalogue import Catalogue
from tickets.projections.audit_trail import AuditTrailProjection
from tickets.projections.readstore import ReadStore
from tickets.projections.runner import position_of


def test_an_unreadable_event_and_the_rest_of_its_ticket_are_set_aside_and_the_feed_goes_on(
    tmp_path: Path, catalogue: Catalogue,
) -> None:
    path = tmp_path / "events.sqlite3"
    desk = sqlite_desk(path, catalogue)
    numbers = write_week(desk, tickets=6)
    broken = max(numbers, key=lambda n: len(desk.history(n)))
    broken_id = desk.ticket_id(broken)
    lengths = {str(desk.ticket_id(n)): len(desk.history(n)) for n in numbers}
    versions = lengths[str(broken_id)]
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE stored_events SET state = ? WHERE originator_id = ? AND originator_version = 2",
                     (b"{not json", broken_id.hex))
        marks = ",".join("?" * len(TICKET_TOPICS))
        last_position = conn.execute(f"SELECT max(rowid) FROM stored_events WHERE topic IN ({marks})",
                                     TICKET_TOPICS).fetchone()[0]
        broken_topic = conn.execute("SELECT topic FROM stored_events WHERE originator_id = ? "
                                    "AND originator_version = 2", (broken_id.hex,)).fetchone()[0]
    store = ReadStore(f"sqlite:///{tmp_path / 'rm.sqlite3'}")
    trail = AuditTrailProjection()
    feed = EmbeddedFeed(StoreReader(desk), store, [trail], batch_size=7)

    feed.catch_up()

    with store.snapshot() as tx:
        assert position_of(tx, trail.name) == last_position
    aside = store.read("SELECT ticket_id, version, type, reason, envelope FROM set_aside "
                       "WHERE projection = ? ORDER BY version", (trail.name,))
    assert [(t, v) for t, v, *_ in aside] == [(str(broken_id), v) for v in range(2, versions + 1)]
    ticket_id, version, topic, reason, stored = aside[0]
    assert (ticket_id, version, topic) == (str(broken_id), 2, broken_topic)
    assert reason.startswith("unreadable stored event: ")
    assert all(r.startswith("unreadable stored event: ") for *_, r, _ in aside)
    assert stored == "{not json"
    kept = store.read("SELECT ticket_id, COUNT(*) FROM audit_trail GROUP BY ticket_id")
    expected = {**lengths, str(broken_id): 1}  # its first event, before the unreadable one
    assert dict(kept) == expected
    assert feed.stats.set_aside == versions - 1
    store.close()


def test_the_store_being_away_is_not_an_event_to_set_aside(tmp_path: Path, catalogue: Catalogue) -> None:
    path = tmp_path / "events.sqlite3"
    desk = sqlite_desk(path, catalogue)
    write_week(desk, tickets=2)
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE stored_events RENAME TO elsewhere")
    reader = StoreReader(desk)
    with pytest.raises(PersistenceError, match="no such table"):
        reader.read_or_set_aside(0, 10)
