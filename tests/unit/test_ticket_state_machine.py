"""Random valid lives through the desk: the aggregate, the facts fold and every projection agree.

A hypothesis state machine opens tickets on several desks and plans and runs the commands a desk
takes (severity, assignment, responses, information requests and replies, escalations, closing,
reopening where the desk allows it), advances a virtual clock and lets the scheduler fire what
time made due (auto-close warnings and closes, automatic escalations). After every step, for every
ticket:

- the aggregate's facts are the facts ``fold_all`` gives over the ticket's stored history;
- the projections fed live (the embedded feed, as the engine runs them) hold rows that say the
  same: the audit trail has each stored event, the SLA timers and the dashboard show the ticket's
  number, desk, plan, severity, level and status, and every stored copy of the facts is theirs;
- a rebuild from the event store into a fresh read store gives the live rows, table by table.

The run must reach every event type (checked after the run), so no meaning goes untested.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import event as note_event
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from tickets.application.clock import VirtualClock
from tickets.application.desk import TicketDesk
from tickets.application.policy_files import load_catalogue
from tickets.consumers.feed import EmbeddedFeed
from tickets.consumers.scheduler import Scheduler
from tickets.consumers.store_reader import StoreReader
from tickets.domain.actor import Actor
from tickets.domain.errors import TicketError
from tickets.domain.facts import TicketFacts
from tickets.domain.ticket import TICKET_EVENT_CLASSES
from tickets.projections.audit_trail import trail
from tickets.projections.facts_state import dump_facts
from tickets.projections.readstore import ReadStore
from tickets.projections.sla_timers import timers_of
from tickets.projections_registry import all_projections
from tickets.replay.compare import compare
from tickets.replay.rebuild import rebuild
from tickets.replay.tables import column_names, table_exists

START = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)  # a Monday
AGENT = Actor("agent", "a-1")
SERVICE = Actor("service", "webform")
#: (desk, plan, requester role): automatic escalation (zoom premier-plus), a desk that reopens
#: (nl-vendor), office hours and a round-the-clock calendar, plans with and without targets.
OPENINGS = [
    ("zoom", "premier-plus", "admin"), ("zoom", "premier", "licensed_member"),
    ("nl-vendor", "standard", "user"), ("o365", "elevated", "admin"), ("zoom", "access", "admin"),
]
STEPS = [timedelta(minutes=5), timedelta(minutes=45), timedelta(hours=3), timedelta(days=1),
         timedelta(days=4)]
#: Every event type recorded across the run (a run that misses one fails).
SEEN: set[str] = set()
_requesters = itertools.count()


class TicketLives(RuleBasedStateMachine):
    tickets = Bundle("tickets")

    def __init__(self) -> None:
        super().__init__()
        self.dir = TemporaryDirectory()
        self.clock = VirtualClock(START)
        self.catalogue = load_catalogue()
        self.desk = TicketDesk(self.catalogue, clock=self.clock,
                               env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
        self.store = ReadStore(f"sqlite:///{Path(self.dir.name) / 'live.sqlite3'}")
        self.feed = EmbeddedFeed(StoreReader(self.desk), self.store,
                                 all_projections(self.catalogue), batch_size=7)
        self.scheduler = Scheduler(self.desk, self.store, self.clock)
        self.numbers: list[str] = []
        self.requesters: dict[str, Actor] = {}
        self.rebuilds = itertools.count()

    def teardown(self) -> None:
        self.store.close()
        self.desk.close()
        self.dir.cleanup()

    def _try(self, command: str, run: Any) -> None:
        try:
            run()
        except TicketError as refused:  # a rule of the desk: nothing was recorded
            note_event(f"refused {command}: {refused.rule}")
        else:
            note_event(f"ran {command}")

    # ---- commands ------------------------------------------------------------------------

    @initialize(target=tickets)
    def first_ticket(self) -> str:
        return self._open(0)

    @initialize(target=tickets)
    def a_ticket_on_a_desk_that_reopens(self) -> str:
        return self._open(2)

    @rule(target=tickets, which=st.integers(0, len(OPENINGS) - 1))
    def open(self, which: int) -> str:
        return self._open(which)

    def _open(self, which: int) -> str:
        desk, plan, role = OPENINGS[which]
        requester = Actor("customer", f"c-{next(_requesters)}")
        number = self.desk.open(desk=desk, plan=plan, requester=requester.id, requester_role=role,
                                title="Meetings drop", actor=SERVICE, channel="web").number
        self.numbers.append(number)
        self.requesters[number] = requester
        return number

    @rule(n=tickets, pick=st.integers(0, 3))
    def set_severity(self, n: str, pick: int) -> None:
        ticket = self.desk.get(n)
        others = sorted(s for s in self.catalogue.desk(ticket.desk).plan(ticket.plan).severities
                        if s != ticket.severity)
        if others:
            self._try("set_severity", lambda: self.desk.set_severity(
                n, others[pick % len(others)], "reclassified", actor=AGENT))

    @rule(n=tickets, agent=st.sampled_from(["a-1", "a-2"]), level=st.sampled_from(
        ["front_line", "level_2"]))
    def assign(self, n: str, agent: str, level: str) -> None:
        self._try("assign", lambda: self.desk.assign(n, agent, level, actor=AGENT))

    @rule(n=tickets)
    def respond(self, n: str) -> None:
        self._try("respond", lambda: self.desk.respond(n, actor=AGENT))

    @rule(n=tickets, replace=st.booleans())
    def request_info(self, n: str, replace: bool) -> None:
        self._try("request_info", lambda: self.desk.request_info(n, actor=AGENT, replace=replace))

    @rule(n=tickets)
    def customer_reply(self, n: str) -> None:
        self._try("reply", lambda: self.desk.customer_reply(n, actor=self.requesters[n]))

    @rule(n=tickets, complaint=st.booleans())
    def escalate(self, n: str, complaint: bool) -> None:
        if complaint:
            self._try("complaint", lambda: self.desk.escalate(
                n, "complaint", actor=self.requesters[n]))
        else:
            self._try("escalate", lambda: self.desk.escalate(n, "by_hand", actor=AGENT))

    @rule(n=tickets, by_requester=st.booleans())
    def close(self, n: str, by_requester: bool) -> None:
        if by_requester:
            self._try("close", lambda: self.desk.close_ticket(
                n, "closed_by_requester", actor=self.requesters[n]))
        else:
            self._try("close", lambda: self.desk.close_ticket(n, "resolved", actor=AGENT))

    @rule(pick=st.integers(0, 99), close_first=st.booleans())
    def reopen(self, pick: int, close_first: bool) -> None:
        """The requester reopens a ticket on a desk that allows it (closing it first if asked)."""
        reopening = [n for n in self.numbers
                     if self.catalogue.desk(self.desk.get(n).desk).reopen_within is not None]
        n = reopening[pick % len(reopening)]
        if close_first and self.desk.get(n).status != "closed":
            self.desk.close_ticket(n, "resolved", actor=AGENT)
        if self.desk.get(n).status == "closed":
            self._try("reopen", lambda: self.desk.reopen(
                n, "still broken", actor=self.requesters[n]))

    @rule(n=tickets, close=st.booleans())
    def ask_and_wait_for_the_auto_close(self, n: str, close: bool) -> None:
        """Information is asked for (unless it is already), then the clock moves on to the
        request's warning (or closing) time and the scheduler acts."""
        ticket = self.desk.get(n)
        if ticket.status == "closed":
            return
        if ticket.pending_info_since is None:
            self.desk.request_info(n, actor=AGENT)
            ticket = self.desk.get(n)
        due = ticket.auto_close_due(self.catalogue.desk(ticket.desk, ticket.policy_version))
        assert due is not None
        self.clock.set(max(self.clock.now(), due[1] if close else due[0]))
        self.scheduler_tick()

    @rule(step=st.sampled_from(STEPS))
    def advance_the_clock(self, step: timedelta) -> None:
        self.clock.advance(step)

    @rule()
    def scheduler_tick(self) -> None:
        """The scheduler reads the live SLA timers, so the feed catches up first."""
        self.feed.catch_up()
        for fired in self.scheduler.tick():
            note_event(f"scheduler {fired.action}: {fired.outcome}")

    # ---- what must hold after every step -------------------------------------------------

    @invariant()
    def everything_agrees(self) -> None:
        self.feed.catch_up()
        for n in self.numbers:
            history = self.desk.history(n)
            SEEN.update(entry.type for entry in history)
            facts = self.desk.facts(n)
            assert self.desk.get(n).facts == facts
            self._projections_agree(facts, history)
        self._rebuilt_equals_live()

    def _projections_agree(self, facts: TicketFacts, history: list[Any]) -> None:
        ticket_id = str(facts.ticket_id)
        stored = trail(self.store, ticket_id=ticket_id)
        assert [(e.version, e.type) for e in stored] == [(h.version, h.type) for h in history]
        shown = (facts.number, facts.desk, facts.plan, facts.severity, facts.level, facts.status)
        for timer in timers_of(self.store, ticket_id):
            assert (timer.number, timer.desk, timer.plan, timer.severity, timer.level,
                    timer.ticket_status) == shown
        assert self.store.read("SELECT severity, status FROM dashboard_tickets WHERE ticket_id = ?",
                               (ticket_id,)) == [(facts.severity, facts.status)]
        text = dump_facts(facts)
        for table in self._facts_tables():
            assert self.store.read(f"SELECT facts FROM {table} WHERE ticket_id = ?",
                                   (ticket_id,)) == [(text,)]

    def _facts_tables(self) -> list[str]:
        """The projections' tables that keep a copy of each ticket's facts."""
        tables = [t for p in self.feed.projections for t in p.tables()
                  if table_exists(self.store, t) and "facts" in column_names(self.store, t)]
        assert tables
        return tables

    def _rebuilt_equals_live(self) -> None:
        url = f"sqlite:///{Path(self.dir.name) / f'rebuilt-{next(self.rebuilds)}.sqlite3'}"
        projections = all_projections(self.catalogue)
        result = rebuild(self.desk, projections, url, progress=False)
        assert result.complete
        rebuilt = ReadStore(url)
        try:
            assert [d for d in compare(self.store, rebuilt, projections) if not d.same] == []
        finally:
            rebuilt.close()


#: Bounded (about 30 s here) and derandomized: the same lives on every run, which reach every
#: event type (the test says which one a change of rules stops reaching).
LIVES = settings(max_examples=30, stateful_step_count=25, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def test_random_lives_keep_the_aggregate_the_facts_and_every_projection_in_agreement() -> None:
    SEEN.clear()
    run_state_machine_as_test(TicketLives, settings=LIVES)
    every_type = {cls.__name__ for cls in TICKET_EVENT_CLASSES}
    assert not every_type - SEEN, f"event types never reached: {sorted(every_type - SEEN)}"
