"""The scheduler fires what time makes due, as commands the desk re-checks: races, holidays, cost."""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tickets.application.clock import VirtualClock
from tickets.application.desk import TicketDesk
from tickets.consumers.feed import EmbeddedFeed
from tickets.consumers.scheduler import Scheduler
from tickets.consumers.scheduler_timers import SchedulerTimersProjection, due_actions
from tickets.consumers.store_reader import StoreReader
from tickets.domain.actor import Actor
from tickets.domain.catalogue import Catalogue
from tickets.domain.sla import ClockState
from tickets.projections.readstore import ReadStore
from tickets.projections.sla_timers import NEXT_ACTIONS_SQL, SlaTimersProjection, due_before, state_now
from tickets.wire.envelope import format_time

AGENT = Actor("agent", "a-1")
SERVICE = Actor("service", "webform")
POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


class CountingStore(ReadStore):
    """Counts the rows every read returns: the scheduler's cost, measured."""

    rows_read = 0

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        rows = super().read(sql, params)
        self.rows_read += len(rows)
        return rows


@dataclass
class Rig:
    desk: TicketDesk
    store: ReadStore
    feed: EmbeddedFeed
    scheduler: Scheduler
    clock: VirtualClock

    def tick(self, when: datetime, *, catch_up: bool = True) -> list[str]:
        """Move the clock to ``when``, let the projection catch up, tick; the outcomes, by action."""
        self.clock.set(when)
        if catch_up:
            self.feed.catch_up()
        return [f"{f.action}:{f.outcome}" for f in self.scheduler.tick(when)]

    def events(self, number: str, kind: str) -> list[Any]:
        return [e for e in self.desk.history(number) if e.type == kind]


def make_rig(catalogue: Catalogue, path: Path, start: datetime, env: dict[str, str] | None = None) -> Rig:
    clock = VirtualClock(start)
    desk = TicketDesk(catalogue, clock=clock, env=env or POPO, rng=random.Random(7))
    store = CountingStore(f"sqlite:///{path}")
    feed = EmbeddedFeed(StoreReader(desk), store, [SlaTimersProjection(catalogue)])
    return Rig(desk, store, feed, Scheduler(desk, store, clock), clock)


@pytest.fixture
def rig(catalogue: Catalogue, tmp_path: Path) -> Rig:
    return make_rig(catalogue, tmp_path / "read.sqlite3", at("2026-01-01T00:00:00Z"))


def pending_request(rig: Rig, opened: str, asked: str, *, desk: str = "nl-vendor") -> str:
    """A ticket whose agent asked for information at ``asked`` (local times with offsets)."""
    rig.clock.set(at(asked))
    number = rig.desk.open(
        desk=desk, requester="c-1", requester_role="user", title="Export stops",
        fields={"product": "payroll"}, actor=SERVICE, at=at(opened),
    ).number
    rig.desk.respond(number, actor=AGENT, at=at(opened) + timedelta(minutes=5))
    rig.desk.request_info(number, actor=AGENT, at=at(asked))
    return number


# Mon 16 Nov 2026 11:00 CET + 3 working days (Mon-Fri 09:00-17:00) = Thu 19 Nov 11:00;
# + 5 working days = Mon 23 Nov 11:00 CET.
ASKED, WARN, CLOSE = "2026-11-16T11:00:00+01:00", "2026-11-19T11:00:00+01:00", "2026-11-23T11:00:00+01:00"


def warned(rig: Rig) -> str:
    number = pending_request(rig, "2026-11-16T10:00:00+01:00", ASKED)
    assert rig.tick(at(WARN) - timedelta(seconds=1)) == []
    assert rig.tick(at(WARN)) == ["warn_auto_close:fired"]
    rig.feed.catch_up()
    return number


@pytest.mark.parametrize("reply_at", [
    at(CLOSE) - timedelta(seconds=1), at(CLOSE), at(CLOSE) + timedelta(seconds=30),
], ids=["a second before the deadline", "at the deadline", "after it, before the scheduler ran"])
def test_a_reply_wins_the_auto_close_race(rig: Rig, reply_at: datetime) -> None:
    number = warned(rig)
    rig.clock.set(reply_at)
    rig.desk.customer_reply(number, actor=Actor("customer", "c-1"), at=reply_at)
    # the projection has not seen the reply yet: the scheduler fires, and the desk refuses
    late = rig.tick(max(reply_at, at(CLOSE)) + timedelta(seconds=30), catch_up=False)
    assert late in ([], ["close_no_reply:refused:no_pending_request"])
    assert rig.tick(at(CLOSE) + timedelta(days=1)) == []
    assert rig.events(number, "Closed") == []
    assert rig.desk.get(number).status == "open"


@pytest.mark.parametrize("tick_at", [at(CLOSE), at(CLOSE) + timedelta(minutes=10)])
def test_without_a_reply_the_ticket_closes_once_for_no_reply(rig: Rig, tick_at: datetime) -> None:
    number = warned(rig)
    assert rig.tick(at(CLOSE) - timedelta(seconds=1)) == []
    assert rig.tick(tick_at) == ["close_no_reply:fired"]
    assert rig.tick(tick_at, catch_up=False) == []  # remembered until the projection catches up
    for minutes in (1, 10, 60):
        assert rig.tick(tick_at + timedelta(minutes=minutes)) == []
    closed = rig.events(number, "Closed")
    assert len(closed) == 1 and closed[0].payload["reason"] == "no_reply"
    assert closed[0].occurred_at == tick_at


def test_the_requester_is_warned_before_the_ticket_closes(rig: Rig) -> None:
    number = pending_request(rig, "2026-11-16T10:00:00+01:00", ASKED)
    late = at(CLOSE) + timedelta(hours=2)  # the scheduler was down through the warning time
    assert rig.tick(late) == ["warn_auto_close:fired"]
    assert rig.tick(late + timedelta(minutes=1)) == ["close_no_reply:fired"]
    types = [e.type for e in rig.desk.history(number)]
    assert types[-2:] == ["AutoCloseWarned", "Closed"]


def zoom_ticket(rig: Rig, plan: str, opened: str) -> str:
    rig.clock.set(at(opened))
    return rig.desk.open(
        desk="zoom", requester="c-1", requester_role="admin", title="Audio drops", plan=plan,
        severity="P2", actor=SERVICE, at=at(opened),
    ).number


def test_a_breach_escalates_once(rig: Rig) -> None:
    number = zoom_ticket(rig, "premier-plus", "2026-11-16T10:00:00+01:00")
    rig.clock.set(at("2026-11-16T13:01:00+01:00"))
    rig.desk.escalate(number, "at_risk", target="first_response", actor=AGENT,
                      at=at("2026-11-16T13:00:00+01:00"))  # by hand: the at-risk timer is spent
    rig.desk.assign(number, "a-2", "level_2", actor=AGENT, at=at("2026-11-16T13:01:00+01:00"))
    due = at("2026-11-16T14:00:00+01:00")  # P2 first response: 4 office hours
    assert rig.tick(due - timedelta(seconds=1)) == []
    assert rig.tick(due) == ["escalate_breach:fired"]
    for minutes in (0, 1, 10, 60):
        assert rig.tick(due + timedelta(minutes=minutes)) == []
    escalated = rig.events(number, "Escalated")
    assert [(e.payload["reason"], e.payload["target"]) for e in escalated] == [
        ("at_risk", "first_response"), ("breach", "first_response")]


def test_at_risk_escalation_only_on_premier_plus(rig: Rig) -> None:
    premier = zoom_ticket(rig, "premier", "2026-11-16T10:00:00+01:00")
    plus = zoom_ticket(rig, "premier-plus", "2026-11-16T10:00:00+01:00")
    risk = at("2026-11-16T13:00:00+01:00")  # 75 % of 4 office hours
    assert rig.tick(risk - timedelta(seconds=1)) == []
    assert rig.tick(risk) == ["escalate_at_risk:fired"]
    assert rig.tick(risk + timedelta(minutes=30)) == []
    assert rig.events(premier, "Escalated") == []
    assert [e.payload["reason"] for e in rig.events(plus, "Escalated")] == ["at_risk"]


def test_two_schedulers_interleaved_close_each_ticket_once(catalogue: Catalogue, tmp_path: Path) -> None:
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "ev.sqlite3"),
           "SQLITE_LOCK_TIMEOUT": "30"}
    one = make_rig(catalogue, tmp_path / "one.sqlite3", at("2026-01-01T00:00:00Z"), env)
    two = make_rig(catalogue, tmp_path / "two.sqlite3", at("2026-01-01T00:00:00Z"), env)
    numbers = [pending_request(one, "2026-11-16T10:00:00+01:00", ASKED) for _ in range(12)]
    for rig in (one, two):
        rig.clock.set(at(WARN))
        rig.feed.catch_up()
    warned_by = one.scheduler.tick(at(WARN)) + two.scheduler.tick(at(WARN))
    assert sum(f.outcome == "fired" for f in warned_by) == 12
    for rig in (one, two):
        rig.clock.set(at(CLOSE))
        rig.feed.catch_up()
    closed_by = one.scheduler.tick(at(CLOSE)) + two.scheduler.tick(at(CLOSE))
    assert sum(f.outcome == "fired" for f in closed_by) == 12
    assert {f.outcome for f in closed_by[12:]} == {"refused:closed_once"}
    for number in numbers:
        assert len(one.events(number, "Closed")) == 1


def test_two_schedulers_in_threads_close_each_ticket_once(catalogue: Catalogue, tmp_path: Path) -> None:
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "ev.sqlite3"),
           "SQLITE_LOCK_TIMEOUT": "30"}
    rigs = [make_rig(catalogue, tmp_path / f"r{i}.sqlite3", at("2026-01-01T00:00:00Z"), env)
            for i in range(2)]
    numbers = [pending_request(rigs[0], "2026-11-16T10:00:00+01:00", ASKED) for _ in range(30)]
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def run(rig: Rig) -> None:
        start.wait()
        for when in (at(WARN), at(CLOSE), at(CLOSE) + timedelta(minutes=1), at(CLOSE) + timedelta(hours=1)):
            for _ in range(3):
                outcomes.extend(rig.tick(when))

    threads = [threading.Thread(target=run, args=(rig,)) for rig in rigs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    closes = rigs[0].desk.recorder.select_notifications(start=1, limit=5000)
    closed_ids = [n.originator_id for n in closes if n.topic.endswith("Ticket.Closed")]
    assert len(closed_ids) == len(set(closed_ids)) == 30
    assert sorted(closed_ids) == sorted(rigs[0].desk.ticket_id(n) for n in numbers)
    assert outcomes.count("close_no_reply:fired") == 30


@pytest.mark.parametrize(("asked", "warn", "close"), [
    # Wed 1 Apr 14:00; Easter Monday 6 Apr is a holiday, Good Friday 3 Apr is not (the desk is
    # open on it: not a general holiday in Dutch law, not named by the page):
    # Thu 2 (1), Fri 3 (2), Tue 7 (3: warn), Wed 8 (4), Thu 9 Apr 14:00 (5: close)
    ("2026-04-01T14:00:00+02:00", "2026-04-07T14:00:00+02:00", "2026-04-09T14:00:00+02:00"),
    # Wed 22 Apr 10:00; King's Day Mon 27 Apr is a holiday:
    # Thu 23 (1), Fri 24 (2), Tue 28 (3: warn), Wed 29 (4), Thu 30 Apr 10:00 (5: close)
    ("2026-04-22T10:00:00+02:00", "2026-04-28T10:00:00+02:00", "2026-04-30T10:00:00+02:00"),
], ids=["easter", "kings-day"])
def test_auto_close_waits_for_dutch_holidays(rig: Rig, asked: str, warn: str, close: str) -> None:
    number = pending_request(rig, (at(asked) - timedelta(hours=1)).isoformat(), asked)
    fired: list[tuple[str, datetime]] = []
    when = at(asked)
    while when < at(asked) + timedelta(days=14):
        when += timedelta(minutes=30)
        fired += [(outcome, when) for outcome in rig.tick(when)]
    assert fired == [("warn_auto_close:fired", at(warn)), ("close_no_reply:fired", at(close))]
    assert rig.events(number, "Closed")[0].occurred_at == at(close)


def test_a_tick_reads_only_the_due_rows(rig: Rig) -> None:
    """150 open timers, 3 of them due: a tick reads 3 rows (and an index range, not the table)."""
    for i in range(150):
        asked = ASKED if i < 3 else "2026-11-17T11:00:00+01:00"  # warned on Thu or on Fri
        pending_request(rig, "2026-11-16T10:00:00+01:00", asked)
    rig.clock.set(at(WARN))
    rig.feed.catch_up()
    store = rig.store
    assert isinstance(store, CountingStore)
    store.rows_read = 0
    assert rig.scheduler.tick(at(ASKED)) == []
    assert store.rows_read == 0
    fired = rig.scheduler.tick(at(WARN))
    assert [f.outcome for f in fired] == ["fired"] * 3
    assert store.rows_read == 3
    plan = store.read(f"EXPLAIN QUERY PLAN {NEXT_ACTIONS_SQL}", ("2026-11-19T10:00:00.000000Z", 10))
    assert any("USING INDEX sla_timers_next_action" in str(row) for row in plan)


def test_a_premier_breach_is_shown_and_never_escalated_by_the_scheduler(rig: Rig) -> None:
    """Zoom: "Automatische escalatie | | | Inbegrepen" — automatic escalation is included on
    Premier+ alone; a breach on Premier is recorded and shown for a person to act on."""
    number = zoom_ticket(rig, "premier", "2026-11-16T10:00:00+01:00")
    due = at("2026-11-16T14:00:00+01:00")  # P2 first response: 4 office hours
    when = at("2026-11-16T10:00:00+01:00")
    while when < due + timedelta(days=3):
        when += timedelta(minutes=15)
        assert rig.tick(when) == []
    assert rig.events(number, "Escalated") == []
    [late] = due_before(rig.store, due + timedelta(seconds=1))
    assert (late.number, late.kind, late.next_action) == (number, "first_response", None)
    assert state_now(late, due) is ClockState.BREACHED
    clock = rig.desk.sla(number, now=due).clock("first_response")
    assert clock is not None and clock.state is ClockState.BREACHED


def test_premier_plus_is_escalated_by_the_scheduler_at_risk_and_at_breach(rig: Rig) -> None:
    """Zoom: "Automatische escalatie | | | Inbegrepen" (Premier+). A licensed admin's ticket
    starts at level 2; at risk it goes to the service manager, who hands it back to level 2, and
    at breach it goes up again."""
    number = zoom_ticket(rig, "premier-plus", "2026-11-16T10:00:00+01:00")
    risk, due = at("2026-11-16T13:00:00+01:00"), at("2026-11-16T14:00:00+01:00")
    assert rig.tick(risk - timedelta(seconds=1)) == []
    assert rig.tick(risk) == ["escalate_at_risk:fired"]
    assert rig.desk.get(number).level == "service_manager"
    rig.clock.set(risk + timedelta(minutes=10))
    rig.desk.assign(number, "a-2", "level_2", actor=AGENT, at=risk + timedelta(minutes=10))
    assert rig.tick(due - timedelta(seconds=1)) == []
    assert rig.tick(due) == ["escalate_breach:fired"]
    assert rig.tick(due + timedelta(hours=1)) == []
    escalated = rig.events(number, "Escalated")
    assert [(e.payload["reason"], e.payload["level"], e.actor) for e in escalated] == [
        ("at_risk", "service_manager", "system:scheduler"),
        ("breach", "service_manager", "system:scheduler")]


def test_a_timer_left_from_before_the_rule_is_refused_on_a_plan_without_auto_escalation(
    rig: Rig
) -> None:
    """A read model written by an older version may still hold a breach escalation for a Premier
    ticket: the desk refuses it, so the scheduler cannot escalate what the plan does not promise."""
    number = zoom_ticket(rig, "premier", "2026-11-16T10:00:00+01:00")
    due = at("2026-11-16T14:00:00+01:00")
    rig.clock.set(due)
    rig.feed.catch_up()
    with rig.store.transaction() as tx:
        tx.execute("UPDATE sla_timers SET next_action = 'escalate_breach', next_action_at = ? "
                   "WHERE kind = 'first_response'", (format_time(due),))
    assert rig.tick(due, catch_up=False) == ["escalate_breach:refused:auto_escalation_in_plan"]
    assert rig.events(number, "Escalated") == []
    rig.desk.escalate(number, "breach", target="first_response", actor=AGENT, at=due)  # a person may
    assert [e.actor for e in rig.events(number, "Escalated")] == ["agent:a-1"]


def test_the_kafka_scheduler_group_schedules_escalations_only_where_the_plan_promises_them(
    rig: Rig
) -> None:
    """The scheduler group's own timers (``scheduler_timers``) take the same decision: Zoom's
    "Automatische escalatie" for Premier+ only."""
    premier = zoom_ticket(rig, "premier", "2026-11-16T10:00:00+01:00")
    plus = zoom_ticket(rig, "premier-plus", "2026-11-16T10:00:00+01:00")
    projection = SchedulerTimersProjection(rig.desk.catalogue, lambda ticket_id: 0)
    feed = EmbeddedFeed(StoreReader(rig.desk), rig.store, [projection])
    feed.catch_up()
    due = due_actions(rig.store, [0], at("2026-11-17T10:00:00+01:00"), 100)
    assert {(a.number, a.kind, a.action) for a in due} == {
        (plus, "first_response", "escalate_at_risk"), (plus, "resolution", "escalate_at_risk")}
    assert premier not in {a.number for a in due}
