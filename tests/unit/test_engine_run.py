"""``run_engine``: a command from another desk shows within a second; stop is clean; restart resumes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tickets.application.clock import VirtualClock
from tickets.application.desk import TicketDesk
from tickets.cli import main
from tickets.config import Settings, load_settings
from tickets.domain.actor import Actor
from tickets.engine import RunStats, install_stop_signals, run_engine
from tickets.projections.audit_trail import trail
from tickets.projections.readstore import ReadStore
from tickets.projections.sla_timers import timers_of
from tickets.wiring import build_desk

AGENT = Actor("agent", "a-1")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


class Running:
    """``run_engine`` in a thread, as ``tickets run`` runs it, with its stop event."""

    def __init__(self, settings: Settings, clock: VirtualClock) -> None:
        self.stop = threading.Event()
        self.stats: RunStats | None = None
        self.thread = threading.Thread(target=self._run, args=(settings, clock), daemon=True)
        self.thread.start()

    def _run(self, settings: Settings, clock: VirtualClock) -> None:
        self.stats = run_engine(settings, self.stop, clock, poll=0.05, tick_every=0.05)

    def halt(self) -> RunStats:
        self.stop.set()
        self.thread.join(timeout=5)
        assert not self.thread.is_alive(), "the engine did not stop within 5 s"
        assert self.stats is not None
        return self.stats


def within(seconds: float, check: Callable[[], bool]) -> float:
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        try:
            if check():
                return time.monotonic() - start
        except sqlite3.OperationalError:  # the engine has not made its tables yet
            pass
        time.sleep(0.01)
    raise AssertionError(f"not within {seconds} s")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(environ={}, home=str(tmp_path / "home"))


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(at("2026-11-16T10:00:00+01:00"))


@pytest.fixture
def writer(settings: Settings, clock: VirtualClock) -> Iterator[TicketDesk]:
    """Another desk on the same SQLite file: what the CLI uses while the engine runs."""
    desk = build_desk(settings, clock=clock)
    yield desk
    desk.close()


@pytest.fixture
def reader(settings: Settings) -> Iterator[ReadStore]:
    store = ReadStore(settings.read_model_url)
    yield store
    store.close()


def open_ticket(writer: TicketDesk) -> str:
    return writer.open(
        desk="nl-vendor", requester="c-1", requester_role="user", title="Export stops",
        fields={"product": "payroll"}, actor=Actor("service", "webform"),
    ).number


def test_a_command_from_another_desk_shows_within_a_second(
    settings: Settings, clock: VirtualClock, writer: TicketDesk, reader: ReadStore,
) -> None:
    running = Running(settings, clock)
    time.sleep(0.3)  # the engine is up and idle
    number = open_ticket(writer)
    ticket_id = writer.ticket_id(number)
    took = within(1.0, lambda: len(trail(reader, ticket_id=ticket_id)) == 1)
    assert took < 1.0
    assert [t.kind for t in timers_of(reader, ticket_id)] == ["first_response"]
    stats = running.halt()
    assert stats.events == 1


def test_the_engine_fires_due_timers_as_the_clock_moves(
    settings: Settings, clock: VirtualClock, writer: TicketDesk,
) -> None:
    number = open_ticket(writer)
    writer.respond(number, actor=AGENT)
    writer.request_info(number, actor=AGENT)
    running = Running(settings, clock)
    clock.set(at("2026-11-19T10:00:00+01:00"))  # three working days later: the warning
    within(2.0, lambda: writer.get(number).auto_close_warned_at is not None)
    clock.set(at("2026-11-23T10:00:00+01:00"))  # five: the close
    within(2.0, lambda: writer.get(number).status == "closed")
    stats = running.halt()
    assert stats.fired == {"fired": 2}
    assert writer.get(number).close_reason == "no_reply"


def test_a_restart_resumes_where_the_last_run_stopped(
    settings: Settings, clock: VirtualClock, writer: TicketDesk, reader: ReadStore,
) -> None:
    number = open_ticket(writer)
    ticket_id = writer.ticket_id(number)
    first = Running(settings, clock)
    within(2.0, lambda: len(trail(reader, ticket_id=ticket_id)) == 1)
    assert first.halt().events == 1
    writer.assign(number, "a-1", actor=AGENT)  # while the engine is down
    writer.respond(number, actor=AGENT)
    second = Running(settings, clock)
    within(2.0, lambda: len(trail(reader, ticket_id=ticket_id)) == 3)
    assert second.halt().events == 2  # only what was new: nothing applied twice
    versions = [e.version for e in trail(reader, ticket_id=ticket_id)]
    assert versions == [1, 2, 3]
    positions = reader.read("SELECT projection, position FROM projection_positions ORDER BY projection")
    assert {p for _, p in positions} == {writer.recorder.max_notification_id()}
    assert len(positions) == 4


def test_sigterm_asks_the_loop_to_stop() -> None:
    stop = threading.Event()
    restore = install_stop_signals(stop)
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.wait(1.0)
    finally:
        restore()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_the_cli_commands_catch_the_feed_up_first(
    settings: Settings, clock: VirtualClock, writer: TicketDesk, capsys: pytest.CaptureFixture[str],
) -> None:
    number = open_ticket(writer)
    writer.respond(number, actor=AGENT)
    writer.request_info(number, actor=AGENT)
    home = ["--home", str(settings.home), "--json"]
    assert main(["scheduler", "run-once", "--now", "2026-11-19T10:00:00+01:00", *home]) == 0
    fired = json.loads(capsys.readouterr().out)
    assert [(f["ticket"], f["action"], f["outcome"]) for f in fired] == [
        (number, "warn_auto_close", "fired")]
    assert main(["audit", number, *home]) == 0
    assert [e["type"] for e in json.loads(capsys.readouterr().out)][-1] == "AutoCloseWarned"
    assert main(["dashboard", "--now", "2026-11-19T12:00:00+01:00", *home]) == 0
    assert json.loads(capsys.readouterr().out)["open"][0]["status"] == "action_needed"
    assert main(["queues", "--now", "2026-11-19T12:00:00+01:00", *home]) == 0
    assert set(json.loads(capsys.readouterr().out)) == {"front_line", "level_2", "service_manager"}


def test_tickets_run_stops_cleanly_on_sigterm(settings: Settings) -> None:
    env = {**os.environ, "TICKETS_HOME": str(settings.home), "TICKETS_LOG_FORMAT": "json"}
    env.pop("TICKETS_DATABASE_URL", None)
    env.pop("TICKETS_READ_MODEL_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "tickets.cli", "run", "--poll", "0.05", "--no-http"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    while json.loads(proc.stderr.readline())["event"] != "engine_started":
        pass
    proc.send_signal(signal.SIGTERM)
    _out, rest = proc.communicate(timeout=30)
    assert proc.returncode == 0
    events = [json.loads(line)["event"] for line in rest.splitlines()]
    assert events[-2:] == ["stop_requested", "engine_stopped"]
