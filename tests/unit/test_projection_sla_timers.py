"""The SLA timers projection: the domain's clocks per ticket, the scheduler's next actions, replays."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.unit.conftest import AGENT, CUSTOMER, SERVICE, at
from tests.unit.projection_support import feed_into, read_store, resealed
from tickets.application.desk import TicketDesk
from tickets.consumers.feed import EmbeddedFeed
from tickets.consumers.store_reader import StoreReader
from tickets.domain.actor import SCHEDULER
from tickets.domain.catalogue import Catalogue
from tickets.domain.sla import ClockState
from tickets.projections.facts_state import load_facts
from tickets.projections.readstore import ReadStore
from tickets.projections.runner import apply_batch, create_schema
from tickets.projections.sla_timers import (
    DUE_BEFORE_SQL,
    NEXT_ACTIONS_SQL,
    SlaTimersProjection,
    TimerRow,
    due_before,
    next_actions,
    state_now,
    timers_of,
)
from tickets.wire.envelope import Envelope

TABLES = ("sla_timer_facts", "sla_timers")


def catch_up(desk: TicketDesk, store: ReadStore, batch_size: int = 1000) -> EmbeddedFeed:
    return feed_into(desk, store, SlaTimersProjection(desk.catalogue), batch_size)


def open_ticket(desk: TicketDesk, plan: str, severity: str, when: str, name: str = "zoom",
                role: str = "admin") -> str:
    return desk.open(desk=name, plan=plan, severity=severity, requester=CUSTOMER.id,
                     requester_role=role, title="T", actor=SERVICE, at=at(when)).number


def timers(desk: TicketDesk, store: ReadStore, number: str) -> dict[str, TimerRow]:
    return {row.kind: row for row in timers_of(store, desk.ticket_id(number))}


def action(row: TimerRow) -> tuple[str | None, str | None]:
    return row.next_action, row.next_action_at.isoformat() if row.next_action_at else None


def dump(store: ReadStore, table: str) -> list[tuple[object, ...]]:
    return store.read(f"SELECT * FROM {table} ORDER BY 1, 2")


def test_rows_carry_the_domain_clock_with_due_and_at_risk_times(
    desk: TicketDesk, tmp_path: Path
) -> None:
    # Zoom Premier P2, Monday 09:00 Amsterdam: 4 office hours to respond, 8 to restore.
    n = open_ticket(desk, "premier", "P2", "2026-11-16T09:00:00+01:00")
    store = read_store(tmp_path)
    catch_up(desk, store)
    rows = timers(desk, store, n)
    assert set(rows) == {"first_response", "resolution"}
    first, resolution = rows["first_response"], rows["resolution"]
    assert first.due == at("2026-11-16T13:00:00+01:00")
    assert first.at_risk_at == at("2026-11-16T12:00:00+01:00")
    assert resolution.due == at("2026-11-16T17:00:00+01:00")
    assert (first.state, first.ticket_status, first.calendar) == (ClockState.RUNNING, "new", "office")
    assert (first.target_seconds, first.used_seconds) == (4 * 3600, 0)
    report = desk.sla(n, now=at("2026-11-16T09:00:00+01:00"))
    for clock in report.clocks:
        row = rows[clock.kind]
        assert (row.due, row.at_risk_at, row.state, row.start_at) == (
            clock.due, clock.at_risk_at, clock.state, clock.start)


def test_no_escalation_is_scheduled_on_plans_without_auto_escalation(
    desk: TicketDesk, tmp_path: Path
) -> None:
    """Zoom: "Automatische escalatie | | | Inbegrepen" (Premier+ only): Premier's clocks are kept
    and shown, but the scheduler has nothing to do for them."""
    n = open_ticket(desk, "premier", "P2", "2026-11-16T09:00:00+01:00")
    store = read_store(tmp_path)
    catch_up(desk, store)
    rows = timers(desk, store, n)
    assert [action(rows[kind]) for kind in ("first_response", "resolution")] == [(None, None)] * 2
    assert rows["first_response"].due == at("2026-11-16T13:00:00+01:00")
    assert state_now(rows["first_response"], at("2026-11-16T13:00:00+01:00")) is ClockState.BREACHED


def test_at_risk_escalation_comes_first_on_premier_plus(desk: TicketDesk, tmp_path: Path) -> None:
    n = open_ticket(desk, "premier-plus", "P2", "2026-11-16T09:00:00+01:00")
    store = read_store(tmp_path)
    catch_up(desk, store)
    rows = timers(desk, store, n)
    assert action(rows["first_response"]) == ("escalate_at_risk", "2026-11-16T11:00:00+00:00")
    assert action(rows["resolution"]) == ("escalate_at_risk", "2026-11-16T14:00:00+00:00")


def test_a_breach_escalation_leaves_the_schedule_once_it_has_fired(
    desk: TicketDesk, tmp_path: Path
) -> None:
    n = open_ticket(desk, "premier-plus", "P2", "2026-11-16T09:00:00+01:00")
    store = read_store(tmp_path)
    desk.escalate(n, "at_risk", target="first_response", actor=SCHEDULER,
                  at=at("2026-11-16T11:00:00+00:00"))
    desk.assign(n, "a-2", "level_2", actor=AGENT, at=at("2026-11-16T11:01:00+00:00"))
    desk.escalate(n, "breach", target="first_response", actor=SCHEDULER,
                  at=at("2026-11-16T12:00:00+00:00"))
    desk.assign(n, "a-2", "level_2", actor=AGENT, at=at("2026-11-16T12:01:00+00:00"))
    catch_up(desk, store)
    rows = timers(desk, store, n)
    assert action(rows["first_response"]) == (None, None)
    assert (rows["first_response"].state, rows["first_response"].level) == (
        ClockState.BREACHED, "level_2")
    assert action(rows["resolution"]) == ("escalate_at_risk", "2026-11-16T14:00:00+00:00")


def test_premier_plus_escalates_at_risk_then_at_breach(desk: TicketDesk, tmp_path: Path) -> None:
    n = open_ticket(desk, "premier-plus", "P2", "2026-11-16T09:00:00+01:00")
    store = read_store(tmp_path)
    desk.escalate(n, "at_risk", target="first_response", actor=SCHEDULER,
                  at=at("2026-11-16T11:00:00+00:00"))
    catch_up(desk, store)
    first = timers(desk, store, n)["first_response"]
    assert action(first) == (None, None)  # a licensed admin starts at level 2: now at the top
    assert (first.state, first.level) == (ClockState.AT_RISK, "service_manager")
    desk.assign(n, "a-2", "level_2", actor=AGENT, at=at("2026-11-16T11:30:00+00:00"))
    catch_up(desk, store)
    first = timers(desk, store, n)["first_response"]
    assert action(first) == ("escalate_breach", "2026-11-16T12:00:00+00:00")
    desk.escalate(n, "breach", target="first_response", actor=SCHEDULER,
                  at=at("2026-11-16T12:00:00+00:00"))
    catch_up(desk, store)
    assert action(timers(desk, store, n)["first_response"]) == (None, None)


def test_no_escalation_is_scheduled_at_the_top_level_but_auto_close_still_is(
    desk: TicketDesk, tmp_path: Path
) -> None:
    n = open_ticket(desk, "premier-plus", "P2", "2026-11-16T09:00:00+01:00")
    desk.escalate(n, "complaint", actor=CUSTOMER, at=at("2026-11-16T09:10:00+01:00"))
    store = read_store(tmp_path)
    catch_up(desk, store)
    rows = timers(desk, store, n)
    assert {(r.kind, r.state, r.level) for r in rows.values()} == {
        ("first_response", ClockState.RUNNING, "service_manager"),
        ("resolution", ClockState.RUNNING, "service_manager")}
    assert [action(r) for r in rows.values()] == [(None, None)] * 2
    desk.request_info(n, actor=AGENT, at=at("2026-11-16T09:20:00+01:00"))
    catch_up(desk, store)
    assert action(timers(desk, store, n)["auto_close"]) == ("warn_auto_close", "2026-11-19T08:20:00+00:00")


def test_auto_close_warns_first_then_closes_and_its_row_goes_with_the_ticket(
    desk: TicketDesk, tmp_path: Path
) -> None:
    n = open_ticket(desk, "premier", "P2", "2026-11-02T09:00:00+01:00")
    desk.request_info(n, actor=AGENT, at=at("2026-11-02T09:10:00+01:00"))
    store = read_store(tmp_path)
    catch_up(desk, store)
    auto = timers(desk, store, n)["auto_close"]
    assert action(auto) == ("warn_auto_close", "2026-11-05T08:10:00+00:00")
    assert auto.due == at("2026-11-09T09:10:00+01:00")
    desk.warn_auto_close(n, actor=SCHEDULER, at=at("2026-11-05T09:10:00+01:00"))
    catch_up(desk, store)
    assert action(timers(desk, store, n)["auto_close"]) == (
        "close_no_reply", "2026-11-09T08:10:00+00:00")
    desk.close_ticket(n, "no_reply", actor=SCHEDULER, at=at("2026-11-09T09:10:00+01:00"))
    catch_up(desk, store)
    rows = timers(desk, store, n)
    assert set(rows) == {"first_response", "resolution"}
    assert rows["resolution"].state is ClockState.CANCELLED
    assert action(rows["resolution"]) == (None, None)
    assert rows["resolution"].ticket_status == "closed"


def test_a_customer_reply_removes_the_auto_close_row(desk: TicketDesk, tmp_path: Path) -> None:
    n = open_ticket(desk, "premier", "P2", "2026-11-16T09:00:00+01:00")
    desk.request_info(n, actor=AGENT, at=at("2026-11-16T10:00:00+01:00"))
    store = read_store(tmp_path)
    catch_up(desk, store)
    assert "auto_close" in timers(desk, store, n)
    desk.customer_reply(n, actor=CUSTOMER, at=at("2026-11-16T11:00:00+01:00"))
    catch_up(desk, store)
    assert set(timers(desk, store, n)) == {"first_response", "resolution"}


def test_a_pause_makes_the_resolution_due_null_until_the_customer_replies(
    desk: TicketDesk, tmp_path: Path
) -> None:
    n = open_ticket(desk, "premier", "P2", "2026-11-16T09:00:00+01:00")
    desk.respond(n, actor=AGENT, at=at("2026-11-16T09:30:00+01:00"))
    desk.request_info(n, actor=AGENT, at=at("2026-11-16T10:00:00+01:00"))
    store = read_store(tmp_path)
    catch_up(desk, store)
    rows = timers(desk, store, n)
    paused = rows["resolution"]
    assert (paused.state, paused.due, paused.at_risk_at) == (ClockState.PAUSED, None, None)
    assert action(paused) == (None, None)
    assert paused.used_seconds == 3600
    assert (rows["first_response"].state, action(rows["first_response"])) == (
        ClockState.MET, (None, None))
    desk.customer_reply(n, actor=CUSTOMER, at=at("2026-11-17T10:00:00+01:00"))
    catch_up(desk, store)
    resumed = timers(desk, store, n)["resolution"]
    assert resumed.due == at("2026-11-17T17:00:00+01:00")
    assert action(resumed) == (None, None)  # Premier: no automatic escalation


def test_a_severity_change_retargets_the_rows_from_the_start(desk: TicketDesk, tmp_path: Path) -> None:
    n = open_ticket(desk, "premier", "P3", "2026-11-16T09:00:00+01:00")
    store = read_store(tmp_path)
    catch_up(desk, store)
    rows = timers(desk, store, n)
    assert set(rows) == {"first_response"}
    assert rows["first_response"].due == at("2026-11-18T17:00:00+01:00")
    desk.set_severity(n, "P1", "reclassified", actor=AGENT, at=at("2026-11-16T09:30:00+01:00"))
    catch_up(desk, store)
    rows = timers(desk, store, n)
    assert rows["first_response"].due == at("2026-11-16T10:00:00+01:00")
    assert rows["first_response"].calendar == "always"
    assert rows["resolution"].due == at("2026-11-16T13:00:00+01:00")
    assert rows["first_response"].severity == "P1"


def test_next_actions_lists_what_is_due_earliest_first(desk: TicketDesk, tmp_path: Path) -> None:
    early = open_ticket(desk, "premier-plus", "P1", "2026-11-16T09:00:00+01:00")  # at risk 09:45
    late = open_ticket(desk, "premier-plus", "P2", "2026-11-16T09:30:00+01:00")  # at risk 12:30
    store = read_store(tmp_path)
    catch_up(desk, store)
    due = next_actions(store, at("2026-11-16T12:30:00+00:00"))
    assert [(a.number, a.kind, a.action, a.at) for a in due] == [
        (early, "first_response", "escalate_at_risk", at("2026-11-16T08:45:00+00:00")),
        (early, "resolution", "escalate_at_risk", at("2026-11-16T11:00:00+00:00")),
        (late, "first_response", "escalate_at_risk", at("2026-11-16T11:30:00+00:00")),
    ]
    assert next_actions(store, at("2026-11-16T12:30:00+00:00"), limit=1) == due[:1]
    assert next_actions(store, at("2026-11-16T08:44:59+00:00")) == []


def test_due_before_lists_only_running_clocks_past_due(desk: TicketDesk, tmp_path: Path) -> None:
    answered = open_ticket(desk, "premier", "P1", "2026-11-16T09:00:00+01:00")
    desk.respond(answered, actor=AGENT, at=at("2026-11-16T09:10:00+01:00"))
    waiting = open_ticket(desk, "premier", "P2", "2026-11-16T09:30:00+01:00")
    store = read_store(tmp_path)
    catch_up(desk, store)
    rows = due_before(store, at("2026-11-16T16:00:00+00:00"))
    assert [(r.number, r.kind) for r in rows] == [
        (answered, "resolution"), (waiting, "first_response")]


def test_the_scheduler_queries_read_a_range_of_their_index(tmp_path: Path, catalogue: Catalogue) -> None:
    store = read_store(tmp_path)
    create_schema(store, [SlaTimersProjection(catalogue)])
    plans = [store.read("EXPLAIN QUERY PLAN " + sql, ("2026-11-16", 10))
             for sql in (NEXT_ACTIONS_SQL, DUE_BEFORE_SQL)]
    details = [" ".join(str(row[-1]) for row in plan) for plan in plans]
    assert "USING INDEX sla_timers_next_action (next_action_at<?)" in details[0]
    assert "USING INDEX sla_timers_due (due<?)" in details[1]
    assert not any("TEMP B-TREE" in d for d in details)


def test_state_now_turns_a_running_row_at_risk_then_breached(desk: TicketDesk, tmp_path: Path) -> None:
    n = open_ticket(desk, "premier", "P2", "2026-11-16T09:00:00+01:00")
    desk.request_info(n, actor=AGENT, at=at("2026-11-16T09:30:00+01:00"))
    store = read_store(tmp_path)
    catch_up(desk, store)
    rows = timers(desk, store, n)
    auto, resolution, first = rows["auto_close"], rows["resolution"], rows["first_response"]
    assert auto.at_risk_at is not None and auto.due is not None
    assert state_now(auto, auto.at_risk_at - timedelta(seconds=1)) is ClockState.RUNNING
    assert state_now(auto, auto.at_risk_at) is ClockState.AT_RISK
    assert state_now(auto, auto.due) is ClockState.BREACHED
    assert state_now(resolution, at("2026-12-31T00:00:00+00:00")) is ClockState.PAUSED
    assert state_now(first, at("2026-12-31T00:00:00+00:00")) is ClockState.MET


def test_duplicate_envelopes_are_skipped(desk: TicketDesk, tmp_path: Path, catalogue: Catalogue) -> None:
    n = open_ticket(desk, "premier", "P2", "2026-11-16T09:00:00+01:00")
    desk.respond(n, actor=AGENT, at=at("2026-11-16T09:30:00+01:00"))
    envelopes = StoreReader(desk).read(0, 100)
    store = read_store(tmp_path)
    projection = SlaTimersProjection(catalogue)
    create_schema(store, [projection])
    with store.transaction() as tx:
        assert apply_batch(tx, projection, envelopes) == []
    before = [dump(store, t) for t in TABLES]
    with store.transaction() as tx:
        assert apply_batch(tx, projection, envelopes[:1]) == []
        assert apply_batch(tx, projection, envelopes) == []
    assert [dump(store, t) for t in TABLES] == before
    assert timers(desk, store, n)["first_response"].state is ClockState.MET
    assert store.read("SELECT COUNT(*) FROM set_aside") == [(0,)]


def test_a_gap_and_an_unknown_type_are_set_aside_while_other_tickets_apply(
    desk: TicketDesk, tmp_path: Path, catalogue: Catalogue
) -> None:
    odd = open_ticket(desk, "premier", "P2", "2026-11-16T09:00:00+01:00")
    gap = open_ticket(desk, "premier", "P2", "2026-11-16T09:00:00+01:00")
    desk.respond(gap, actor=AGENT, at=at("2026-11-16T09:10:00+01:00"))
    desk.respond(gap, actor=AGENT, at=at("2026-11-16T09:20:00+01:00"))
    fine = open_ticket(desk, "premier", "P2", "2026-11-16T09:00:00+01:00")
    desk.respond(fine, actor=AGENT, at=at("2026-11-16T09:30:00+01:00"))
    by_ticket: dict[str, list[Envelope]] = {}
    for envelope in StoreReader(desk).read(0, 100):
        by_ticket.setdefault(envelope.ticket_number, []).append(envelope)
    unknown = resealed(by_ticket[fine][1], ticket_id=by_ticket[odd][0].ticket_id,
                       ticket_number=odd, type="Merged", position=100,
                       prev_hash=by_ticket[odd][0].hash)
    batch = [by_ticket[odd][0], unknown, by_ticket[gap][0], by_ticket[gap][2], *by_ticket[fine]]
    store = read_store(tmp_path)
    projection = SlaTimersProjection(catalogue)
    create_schema(store, [projection])
    with store.transaction() as tx:
        aside = apply_batch(tx, projection, batch)
    assert [(a.envelope.ticket_number, a.envelope.version) for a in aside] == [(gap, 3), (odd, 2)]
    reasons = dict(store.read("SELECT type, reason FROM set_aside WHERE projection = 'sla_timers'"))
    assert reasons == {
        "Responded": "gap in versions: expected 2, got 3",
        "Merged": "known_event_type: unknown event type 'Merged'",
    }
    assert timers(desk, store, fine)["first_response"].state is ClockState.MET
    assert timers(desk, store, gap)["first_response"].state is ClockState.RUNNING
    assert timers(desk, store, odd)["first_response"].position == by_ticket[odd][0].position


def test_stored_facts_are_the_domains_own_fold(desk: TicketDesk, tmp_path: Path) -> None:
    # A Dutch vendor ticket that goes through nearly every event, so that every field is set.
    n = open_ticket(desk, "standard", "normal", "2026-11-02T09:00:00+01:00", name="nl-vendor",
                    role="user")
    desk.escalate(n, "breach", target="first_response", actor=AGENT,
                  at=at("2026-11-02T17:00:00+01:00"))
    desk.assign(n, "a-1", "level_2", actor=AGENT, at=at("2026-11-02T17:05:00+01:00"))
    desk.respond(n, actor=AGENT, at=at("2026-11-03T09:00:00+01:00"))
    desk.set_severity(n, "high", "reclassified", actor=AGENT, at=at("2026-11-03T09:10:00+01:00"))
    desk.request_info(n, actor=AGENT, at=at("2026-11-03T09:20:00+01:00"))
    desk.warn_auto_close(n, actor=SCHEDULER, at=at("2026-11-06T09:20:00+01:00"))
    desk.customer_reply(n, actor=CUSTOMER, at=at("2026-11-06T10:00:00+01:00"))
    desk.escalate(n, "complaint", actor=CUSTOMER, at=at("2026-11-06T10:30:00+01:00"))
    desk.close_ticket(n, "resolved", actor=AGENT, at=at("2026-11-06T11:00:00+01:00"))
    desk.reopen(n, "still broken", actor=CUSTOMER, at=at("2026-11-09T09:00:00+01:00"))
    desk.request_info(n, actor=AGENT, at=at("2026-11-09T09:30:00+01:00"))
    store = read_store(tmp_path)
    catch_up(desk, store)
    [(text,)] = store.read("SELECT facts FROM sla_timer_facts")
    assert load_facts(text) == desk.facts(n)
    report = desk.sla(n, now=at("2026-11-09T09:30:00+01:00"))
    rows = timers(desk, store, n)
    assert set(rows) == {c.kind for c in report.clocks}
    for clock in report.clocks:
        row = rows[clock.kind]
        assert (row.due, row.stopped_at, row.state, row.used_seconds) == (
            clock.due, clock.stopped_at, clock.state, clock.used.total_seconds())


def test_a_rebuild_from_position_zero_equals_the_live_catch_up(desk: TicketDesk, tmp_path: Path) -> None:
    live = read_store(tmp_path, "live")
    a = open_ticket(desk, "premier-plus", "P2", "2026-11-02T09:00:00+01:00")
    b = open_ticket(desk, "premier", "P1", "2026-11-02T09:05:00+01:00")
    catch_up(desk, live, batch_size=3)
    desk.respond(a, actor=AGENT, at=at("2026-11-02T09:30:00+01:00"))
    desk.request_info(a, actor=AGENT, at=at("2026-11-02T09:40:00+01:00"))
    desk.escalate(b, "at_risk", target="first_response", actor=AGENT,
                  at=at("2026-11-02T09:55:00+01:00"))
    catch_up(desk, live, batch_size=3)
    c = open_ticket(desk, "premier", "P3", "2026-11-03T09:00:00+01:00")
    desk.set_severity(c, "P2", "triage", actor=AGENT, at=at("2026-11-03T09:10:00+01:00"))
    desk.warn_auto_close(a, actor=SCHEDULER, at=at("2026-11-05T09:40:00+01:00"))
    desk.close_ticket(b, "resolved", actor=AGENT, at=at("2026-11-05T10:00:00+01:00"))
    catch_up(desk, live, batch_size=3)
    desk.close_ticket(a, "no_reply", actor=SCHEDULER, at=at("2026-11-09T09:40:00+01:00"))
    catch_up(desk, live, batch_size=3)
    rebuilt = read_store(tmp_path, "rebuilt")
    feed = catch_up(desk, rebuilt)
    assert feed.stats.batches == 1
    for table in TABLES:
        assert dump(rebuilt, table) == dump(live, table)
    assert len(dump(live, "sla_timers")) == 6
