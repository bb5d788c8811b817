"""Rebuilding projections from the event store: equal to the live ones row for row, resumable, swappable."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
import weakref
from dataclasses import replace
from pathlib import Path

import pytest

from tests.unit.projection_support import resealed
from tests.unit.replay_week import project, sqlite_desk, write_week
from tickets.application.desk import TicketDesk
from tickets.consumers.store_reader import TICKET_TOPICS, StoreReader
from tickets.domain.catalogue import Catalogue
from tickets.domain.errors import ValidationError
from tickets.projections.readstore import ReadStore
from tickets.projections.runner import Held, apply_batches, create_schema
from tickets.projections.sla_timers import timers_of
from tickets.projections_registry import all_projections
from tickets.replay.compare import compare, positions
from tickets.replay.log_source import LogSource, Sealed
from tickets.replay.rebuild import Part, Turns, first_batch_size, indexes_due, rebuild, run_part
from tickets.replay.swap import swap
from tickets.replay.target import build_indexes, prepare


@pytest.fixture
def desk(tmp_path: Path, catalogue: Catalogue) -> TicketDesk:
    desk = sqlite_desk(tmp_path / "events.sqlite3", catalogue)
    write_week(desk, tickets=40)
    return desk


@pytest.fixture
def live(desk: TicketDesk, tmp_path: Path) -> ReadStore:
    store = ReadStore(f"sqlite:///{tmp_path / 'live.sqlite3'}")
    project(desk, store, batch_size=7)  # small batches: tickets cross batches as they do live
    return store


def url(tmp_path: Path, name: str) -> str:
    return f"sqlite:///{tmp_path / name}"


def differences(live: ReadStore, rebuilt: ReadStore, desk: TicketDesk) -> list[object]:
    diffs = compare(live, rebuilt, all_projections(desk.catalogue))
    assert {d.projection for d in diffs} == {"sla_timers", "escalation_queues", "audit_trail",
                                             "dashboard"}
    assert all(d.live_rows for d in diffs if d.table not in ("set_aside",))
    return [d for d in diffs if not d.same]


def test_a_rebuild_equals_the_live_projections_row_for_row(
    desk: TicketDesk, live: ReadStore, tmp_path: Path
) -> None:
    result = rebuild(desk, all_projections(desk.catalogue), url(tmp_path, "new.sqlite3"),
                     progress=False)
    assert result.complete and result.events == live.read("SELECT COUNT(*) FROM audit_trail")[0][0]
    assert result.read_back_events == 0
    rebuilt = ReadStore(url(tmp_path, "new.sqlite3"))
    assert differences(live, rebuilt, desk) == []
    assert set(positions(rebuilt, all_projections(desk.catalogue)).values()) == {result.position}


def test_a_rebuild_in_small_batches_gives_the_same_rows(
    desk: TicketDesk, live: ReadStore, tmp_path: Path
) -> None:
    """Tickets cross the batches: each batch writes the difference from the rows held."""
    rebuild(desk, all_projections(desk.catalogue), url(tmp_path, "small.sqlite3"), progress=False,
            batch_size=50)
    assert differences(live, ReadStore(url(tmp_path, "small.sqlite3")), desk) == []


def test_a_rebuild_in_two_processes_gives_the_same_rows(
    desk: TicketDesk, live: ReadStore, tmp_path: Path
) -> None:
    result = rebuild(desk, all_projections(desk.catalogue), url(tmp_path, "two.sqlite3"), parts=2,
                     batch_size=40, progress=False)
    assert result.complete
    assert differences(live, ReadStore(url(tmp_path, "two.sqlite3")), desk) == []


def test_an_interrupted_rebuild_continues_where_it_stopped(
    desk: TicketDesk, live: ReadStore, tmp_path: Path
) -> None:
    target = url(tmp_path, "resumed.sqlite3")
    first = rebuild(desk, all_projections(desk.catalogue), target, batch_size=60, max_batches=2,
                    progress=False)
    assert not first.complete and first.events == 120
    second = rebuild(desk, all_projections(desk.catalogue), target, batch_size=60, progress=False)
    assert second.complete and first.events + second.events == ticket_events(desk)
    assert second.read_back_events > 0  # tickets begun before the stop are read back from the tables
    assert differences(live, ReadStore(target), desk) == []


def test_an_interrupted_rebuild_in_parts_continues_where_each_part_stopped(
    desk: TicketDesk, live: ReadStore, tmp_path: Path
) -> None:
    target = url(tmp_path, "parts.sqlite3")
    first = rebuild(desk, all_projections(desk.catalogue), target, parts=2, batch_size=30,
                    max_batches=2, progress=False)
    # part 0 of 2 begins with half a batch (the parts start out of step), then whole batches
    assert not first.complete and first.events == (15 + 30) + (30 + 30)
    second = rebuild(desk, all_projections(desk.catalogue), target, parts=2, batch_size=30,
                     progress=False)
    assert second.complete and first.events + second.events == ticket_events(desk)
    assert differences(live, ReadStore(target), desk) == []


def indexes(store: ReadStore) -> set[str]:
    return {name for (name,) in store.read(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'")}


def test_indexes_built_while_parts_still_load_leave_the_rows_and_indexes_of_a_live_model(
    desk: TicketDesk, live: ReadStore, tmp_path: Path
) -> None:
    """A two-part rebuild on SQLite builds the indexes once a part is done while the other still
    loads: the part goes on writing into indexed tables, and the result is the same."""
    target = url(tmp_path, "early.sqlite3")
    first = rebuild(desk, all_projections(desk.catalogue), target, parts=2, batch_size=30,
                    max_batches=1, progress=False)
    assert not first.complete and indexes(ReadStore(target)) == set()  # left out while loading
    build_indexes(ReadStore(target), all_projections(desk.catalogue))
    second = rebuild(desk, all_projections(desk.catalogue), target, parts=2, batch_size=30,
                     progress=False)
    assert second.complete
    assert differences(live, ReadStore(target), desk) == []
    assert indexes(ReadStore(target)) == indexes(live) != set()


def ticket_events(desk: TicketDesk) -> int:
    total = desk.recorder.max_notification_id() or 0
    return len(desk.recorder.select_notifications(start=1, limit=total, topics=TICKET_TOPICS))


def test_a_rebuild_catches_up_with_events_written_after_it(
    desk: TicketDesk, live: ReadStore, tmp_path: Path
) -> None:
    target = url(tmp_path, "new.sqlite3")
    rebuild(desk, all_projections(desk.catalogue), target, progress=False)
    write_week(desk, tickets=5, seed=99)  # the desk keeps working
    again = rebuild(desk, all_projections(desk.catalogue), target, progress=False)
    assert again.complete and again.events > 0
    project(desk, live)
    assert differences(live, ReadStore(target), desk) == []


def test_a_live_read_model_is_refused_as_the_target(
    desk: TicketDesk, live: ReadStore, tmp_path: Path
) -> None:
    with pytest.raises(ValidationError) as caught:
        rebuild(desk, all_projections(desk.catalogue), live.url, progress=False)
    assert (caught.value.field, caught.value.rule) == ("into", "fresh_target")


def test_verify_reports_each_row_that_differs_table_by_table(
    desk: TicketDesk, live: ReadStore, tmp_path: Path
) -> None:
    target = url(tmp_path, "new.sqlite3")
    rebuild(desk, all_projections(desk.catalogue), target, progress=False)
    rebuilt = ReadStore(target)
    with rebuilt.transaction() as tx:
        tx.execute("UPDATE sla_timers SET state = 'tampered' WHERE rowid = 1")
        tx.execute("DELETE FROM audit_trail WHERE rowid = 3")
    found = {d.table: d for d in differences(live, rebuilt, desk)}
    assert set(found) == {"sla_timers", "audit_trail"}
    assert found["sla_timers"].differing == 1
    assert found["sla_timers"].examples[0]["columns"] == ["state"]
    assert found["audit_trail"].missing == 1 and found["audit_trail"].extra == 0


def test_swap_puts_the_rebuilt_file_in_place_and_keeps_the_old_one(
    desk: TicketDesk, live: ReadStore, tmp_path: Path
) -> None:
    target = url(tmp_path, "new.sqlite3")
    rebuild(desk, all_projections(desk.catalogue), target, progress=False)
    rebuilt = ReadStore(target)
    with rebuilt.transaction() as tx:
        tx.execute("UPDATE sla_timers SET calendar = 'rebuilt'")
    rebuilt.close()
    live.close()
    kept = swap(target, live.url)
    assert kept is not None and Path(kept).exists()
    assert not (tmp_path / "new.sqlite3").exists()
    now_live = ReadStore(live.url)
    ticket_id = now_live.read("SELECT ticket_id FROM sla_timers LIMIT 1")[0][0]
    assert {row.calendar for row in timers_of(now_live, ticket_id)} == {"rebuilt"}
    assert not now_live.read("SELECT name FROM sqlite_master WHERE name = 'rebuild_progress'")
    with sqlite3.connect(kept) as old:
        assert "rebuilt" not in {r[0] for r in old.execute("SELECT calendar FROM sla_timers")}


def test_swap_refuses_while_a_feed_holds_the_live_database(
    desk: TicketDesk, live: ReadStore, tmp_path: Path
) -> None:
    target = url(tmp_path, "new.sqlite3")
    rebuild(desk, all_projections(desk.catalogue), target, progress=False)
    with live.transaction(), pytest.raises(ValidationError) as caught:  # a feed mid-batch
        swap(target, live.url)
    assert caught.value.rule == "no_feed_running"
    assert (tmp_path / "new.sqlite3").exists()


def test_a_rebuild_from_records_holding_forgeries_sets_them_aside_as_the_live_group_does(
    desk: TicketDesk, tmp_path: Path
) -> None:
    """Records from ``tickets.events`` are not the store's own: the rebuild's admission checks each
    one's hash and link, as the live group's does, holding the tickets' heads in memory."""
    envelopes = StoreReader(desk).read(0, 100_000)
    last = {e.ticket_id: e for e in envelopes}
    head = next(e for e in last.values() if e.type not in ("Closed", "AutoCloseWarned", "InfoRequested"))
    close: dict[str, object] = {"type": "Closed", "version": head.version + 1,
                                "payload": {"reason": "resolved"}, "prev_hash": head.hash}
    wrong_hash = replace(resealed(head, **close, position=head.position + 1_000_000), hash="0" * 64)
    wrong_link = resealed(head, **{**close, "prev_hash": "e" * 64}, position=head.position + 1_000_001)
    chunks = [envelopes[i:i + 25] for i in range(0, len(envelopes), 25)] + [[wrong_hash], [wrong_link]]
    projections = all_projections(desk.catalogue)
    live, rebuilt = ReadStore(url(tmp_path, "group.sqlite3")), ReadStore(url(tmp_path, "kafka.sqlite3"))
    create_schema(live, projections)
    create_schema(rebuilt, projections)
    held = Held()
    for chunk in chunks:  # the forgeries in batches of their own: the fold would take either
        with live.transaction() as tx:
            apply_batches(tx, [(p, chunk) for p in projections])
        with rebuilt.transaction() as tx:
            envelopes = [Sealed.of(e).envelope() for e in chunk]
            apply_batches(tx, [(p, envelopes) for p in projections], held)
    assert held.heads["dashboard"] and held.states["dashboard"]
    assert [d for d in compare(live, rebuilt, projections) if not d.same] == []
    assert sorted(r[0].split(" at")[0] for r in rebuilt.read(
        "SELECT reason FROM set_aside WHERE projection = 'dashboard'")) == ["broken link", "hash mismatch"]


def test_a_part_lets_a_written_batchs_events_go_before_it_reads_the_next(
    desk: TicketDesk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read = LogSource.read
    batches: list[list[weakref.ref[object]]] = []
    alive_at_next_read: list[int] = []

    def watched(source: LogSource, after: int, limit: int) -> tuple[list[Sealed], int]:
        if batches:
            alive_at_next_read.append(sum(1 for ref in batches[-1] if ref() is not None))
        events, end = read(source, after, limit)
        batches.append([weakref.ref(event.entry) for event in events])
        return events, end

    monkeypatch.setattr(LogSource, "read", watched)
    rebuild(desk, all_projections(desk.catalogue), url(tmp_path, "lean.sqlite3"), batch_size=40,
            progress=False)
    assert len(alive_at_next_read) >= 3 and all(len(batch) for batch in batches[:3])
    # The fold memo may keep the last event folded (``projections.facts_memo``); nothing else.
    assert max(alive_at_next_read) <= 1


def test_parts_begin_out_of_step_so_they_take_the_write_lock_in_turn(catalogue: Catalogue) -> None:
    """Part k of n begins with (k + 1)/n of a batch, then goes on with whole batches."""
    def part(k: int, n: int, batch: int) -> Part:
        return Part({}, catalogue, [], "sqlite:///unused", k, n, goal=0, batch_size=batch)

    assert [first_batch_size(part(k, 3, 300)) for k in range(3)] == [100, 200, 300]
    assert [first_batch_size(part(k, 2, 50_000)) for k in range(2)] == [25_000, 50_000]
    assert first_batch_size(part(0, 1, 500)) == 500
    assert first_batch_size(part(0, 4, 2)) == 1  # never an empty batch


def test_the_index_builder_waits_while_a_part_wants_to_write() -> None:
    context = multiprocessing.get_context("spawn")
    turns = Turns(context.Queue(), context.Value("i", 0))
    built: list[float] = []
    with turns.writing():
        builder = threading.Thread(target=lambda: (turns.writers_first(),
                                                   built.append(time.monotonic())))
        builder.start()
        time.sleep(0.05)
        assert built == []  # a part is writing: the next index waits
        released = time.monotonic()
    builder.join(5)
    assert built and built[0] >= released
    turns.writers_first()  # nobody writing: at once


def test_the_log_source_says_when_a_read_reached_the_end_of_the_log(desk: TicketDesk) -> None:
    source = LogSource(desk, (0, 2))
    events, end = source.read(0, 10)
    assert len(events) == 10 and not source.at_end
    while not source.at_end:
        events, end = source.read(end, 10)
    assert end <= (desk.recorder.max_notification_id() or 0)
    assert source.read(end, 10) == ([], end) and source.at_end


@pytest.mark.parametrize(("read_all", "finished", "unread", "due"), [
    (2, 0, 40_000, True),  # both parts have read their last rows: the indexes go in meanwhile
    (1, 0, 40_000, False),  # one part still reads
    (2, 2, 0, True),
    (0, 1, 90_000, True),  # a source that cannot tell its end: one part done, most of it read
    (0, 1, 160_000, False),  # one part done early, the other far from done
    (0, 0, 10_000, False),
])
def test_the_indexes_are_built_once_every_part_has_read_its_last_rows(
        read_all: int, finished: int, unread: int, due: bool) -> None:
    assert indexes_due(2, read_all, finished, unread, left=300_000) is due


def test_a_part_that_reads_to_the_end_of_the_log_is_done_in_that_batch(
        desk: TicketDesk, tmp_path: Path) -> None:
    """Its position goes to the goal with its last rows, not after one more read and a
    transaction of its own (which, beside an index being built, waits for that index)."""
    target = url(tmp_path, "part.sqlite3")
    projections = all_projections(desk.catalogue)
    store = ReadStore(target)
    prepare(store, projections, 2)
    goal = desk.recorder.max_notification_id() or 0
    part = Part(dict(desk.env), desk.catalogue, list(projections), target, 0, 2, goal, 40)
    reports: list[tuple[int, int]] = []
    events, _ = run_part(part, lambda positions, n: reports.append((positions, n)), desk)
    assert events == sum(n for _, n in reports) > 0
    assert all(n > 0 for _, n in reports)  # no empty read at the end
    assert sum(positions for positions, _ in reports) == goal
    assert store.read("SELECT position FROM rebuild_progress WHERE part = 0") == [(goal,)]
