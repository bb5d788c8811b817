"""The publisher's reading: ahead in a child process, woken by the store's NOTIFY on PostgreSQL."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from kafka_helpers import new_desk, settings_of

from tests.servers import PostgresDatabase
from tickets.config import persistence_env
from tickets.consumers.read_ahead import ProcessReadAhead, ReadAheadFailed, outgoing
from tickets.consumers.store_reader import StoreReader
from tickets.consumers.store_wake import NoWake, PostgresStoreWake, store_wake
from tickets.sample_lives import write_lives
from tickets.wiring import build_catalogue

pytestmark = pytest.mark.integration


def _settings(database_url: str, home: Path):  # type: ignore[no-untyped-def]
    return settings_of({"TICKETS_HOME": str(home), "TICKETS_DATABASE_URL": database_url})


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_reading_ahead_in_a_process_gives_what_reading_here_gives(
    store: str, pg_database: PostgresDatabase, tmp_path: Path,
) -> None:
    url = pg_database.dsn if store == "postgres" else f"sqlite:///{tmp_path / 'events.db'}"
    settings = _settings(url, tmp_path)
    desk = new_desk(settings)
    write_lives(desk, 12, interleave=4)
    here = outgoing(StoreReader(desk), 0, 10_000)
    ahead = ProcessReadAhead(build_catalogue(settings), persistence_env(url))
    try:
        there, after = [], 0
        while True:
            ahead.request(after, 7)
            batch = ahead.result()
            if not batch:
                break
            there += batch
            after = batch[-1][0]
    finally:
        ahead.close()
    assert there == here
    assert len(here) > 12


def test_a_store_the_reading_process_cannot_open_is_an_error_at_once(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir" / "events.db"
    with pytest.raises(ReadAheadFailed, match="cannot open the event store"):
        ProcessReadAhead(build_catalogue(_settings(f"sqlite:///{missing}", tmp_path)),
                         persistence_env(f"sqlite:///{missing}"))


def test_a_reading_process_that_dies_stops_the_publisher_with_a_reason(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'events.db'}"
    settings = _settings(url, tmp_path)
    new_desk(settings)
    ahead = ProcessReadAhead(build_catalogue(settings), persistence_env(url))
    pid = ahead._process.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    ahead._process.join(10)
    with pytest.raises(ReadAheadFailed, match="reading process ended"):
        ahead.request(0, 10)
        ahead.result()
    ahead.close()


def test_the_store_wakes_a_follower_when_events_are_committed(
    pg_database: PostgresDatabase, tmp_path: Path,
) -> None:
    settings = _settings(pg_database.dsn, tmp_path)
    desk = new_desk(settings)
    wake = store_wake(desk.recorder, pg_database.dsn)
    assert isinstance(wake, PostgresStoreWake)
    try:
        assert wake.wait_listening(10)
        wake.event.clear()
        assert not wake.event.wait(0.3)  # nothing committed: no wake-up
        write_lives(desk, 1)
        assert wake.event.wait(10)
    finally:
        wake.close()


def test_a_store_without_notifications_gets_no_wake(tmp_path: Path) -> None:
    desk = new_desk(_settings(f"sqlite:///{tmp_path / 'events.db'}", tmp_path))
    assert isinstance(store_wake(desk.recorder, None), NoWake)
