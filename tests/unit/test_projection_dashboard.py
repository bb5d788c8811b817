"""The dashboard projection: open counts, SLA states as of any time, first-response percentiles."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from tests.unit.conftest import AGENT, CUSTOMER, SERVICE, at
from tests.unit.projection_support import read_store, resealed
from tickets.application.desk import TicketDesk
from tickets.consumers.feed import EmbeddedFeed
from tickets.consumers.store_reader import StoreReader
from tickets.domain.catalogue import Catalogue
from tickets.domain.sla import AUTO_CLOSE, ClockState, SlaReport
from tickets.projections.dashboard import (
    DashboardProjection,
    FirstResponseFigure,
    OpenCount,
    SlaFigure,
    figures,
    figures_cached,
)
from tickets.projections.dashboard_figures import dashboard_position, rank
from tickets.projections.facts_state import load_facts
from tickets.projections.readstore import ReadStore
from tickets.projections.runner import apply_batch


def feed(desk: TicketDesk, store: ReadStore, catalogue: Catalogue,
         batch_size: int = 1000) -> EmbeddedFeed:
    return EmbeddedFeed(StoreReader(desk), store, [DashboardProjection(catalogue)],
                        batch_size=batch_size)


def caught_up(desk: TicketDesk, catalogue: Catalogue, tmp_path: Path) -> ReadStore:
    store = read_store(tmp_path)
    feed(desk, store, catalogue).catch_up()
    return store


def open_ticket(desk: TicketDesk, when: str, severity: str = "B", name: str = "o365",
                plan: str = "elevated") -> str:
    return desk.open(desk=name, plan=plan, severity=severity, requester=CUSTOMER.id,
                     requester_role="admin", title="T", actor=SERVICE, at=at(when)).number


def sla_of(store: ReadStore, now: str) -> list[SlaFigure]:
    return figures(store, at(now)).sla


def test_open_tickets_are_counted_by_desk_severity_and_status(
    desk: TicketDesk, catalogue: Catalogue, tmp_path: Path
) -> None:
    open_ticket(desk, "2026-11-16T09:00:00+00:00", "A")
    assigned = open_ticket(desk, "2026-11-16T09:01:00+00:00", "A")
    desk.assign(assigned, "a-1", actor=AGENT, at=at("2026-11-16T09:02:00+00:00"))
    waiting = open_ticket(desk, "2026-11-16T09:03:00+00:00", "A")
    desk.request_info(waiting, actor=AGENT, at=at("2026-11-16T09:04:00+00:00"))
    closed = open_ticket(desk, "2026-11-16T09:05:00+00:00", "A")
    desk.close_ticket(closed, "resolved", actor=AGENT, at=at("2026-11-16T09:06:00+00:00"))
    lowered = open_ticket(desk, "2026-11-16T09:07:00+00:00", "B")
    open_ticket(desk, "2026-11-16T09:08:00+00:00", "P1", "zoom", "premier")
    store = caught_up(desk, catalogue, tmp_path)
    assert figures(store, at("2026-11-16T10:00:00+00:00")).open_by_desk_severity_status == [
        ("o365", "A", "action_needed", 1), ("o365", "A", "new", 1), ("o365", "A", "open", 1),
        ("o365", "B", "new", 1), ("zoom", "P1", "new", 1),
    ]
    desk.customer_reply(waiting, actor=CUSTOMER, at=at("2026-11-16T09:30:00+00:00"))
    desk.set_severity(lowered, "C", "reclassified", actor=AGENT, at=at("2026-11-16T09:31:00+00:00"))
    feed(desk, store, catalogue).catch_up()
    assert figures(store, at("2026-11-16T10:00:00+00:00")).open_by_desk_severity_status == [
        OpenCount("o365", "A", "new", 1), OpenCount("o365", "A", "open", 2),
        OpenCount("o365", "C", "new", 1), OpenCount("zoom", "P1", "new", 1),
    ]


def test_a_running_first_response_turns_at_risk_then_breached_without_an_event(
    desk: TicketDesk, catalogue: Catalogue, tmp_path: Path
) -> None:
    # o365 elevated B: first response within 2 hours, 24x7; at risk from 75 %, i.e. after 1.5 h.
    open_ticket(desk, "2026-11-16T09:00:00+00:00")
    met = open_ticket(desk, "2026-11-16T09:00:00+00:00")
    desk.respond(met, actor=AGENT, at=at("2026-11-16T09:30:00+00:00"))
    late = open_ticket(desk, "2026-11-16T08:00:00+00:00")
    desk.respond(late, actor=AGENT, at=at("2026-11-16T10:30:00+00:00"))
    store = caught_up(desk, catalogue, tmp_path)
    assert sla_of(store, "2026-11-16T10:29:59+00:00") == [("o365", "B", 1, 0, 1, 1)]
    assert sla_of(store, "2026-11-16T10:30:00+00:00") == [("o365", "B", 1, 1, 1, 0)]
    assert sla_of(store, "2026-11-16T11:00:00+00:00") == [
        SlaFigure("o365", "B", met=1, at_risk=0, breached=2, running=0)]


def test_a_paused_resolution_clock_runs_again_when_the_customer_replies(
    desk: TicketDesk, catalogue: Catalogue, tmp_path: Path
) -> None:
    # zoom premier P1, 24x7: first response 1 h (met by asking at 09:30), restore within 4 h.
    n = open_ticket(desk, "2026-11-16T09:00:00+00:00", "P1", "zoom", "premier")
    desk.request_info(n, actor=AGENT, at=at("2026-11-16T09:30:00+00:00"))
    store = caught_up(desk, catalogue, tmp_path)
    assert sla_of(store, "2026-11-16T14:59:00+00:00") == [("zoom", "P1", 0, 0, 0, 1)]
    desk.customer_reply(n, actor=CUSTOMER, at=at("2026-11-16T15:00:00+00:00"))
    feed(desk, store, catalogue).catch_up()
    # 30 min used before the pause: at risk after 3 h used (17:30), breached after 4 h (18:30).
    assert sla_of(store, "2026-11-16T17:29:00+00:00") == [("zoom", "P1", 0, 0, 0, 1)]
    assert sla_of(store, "2026-11-16T17:30:00+00:00") == [("zoom", "P1", 0, 1, 0, 0)]
    assert sla_of(store, "2026-11-16T18:30:00+00:00") == [("zoom", "P1", 0, 0, 1, 0)]
    desk.close_ticket(n, "resolved", actor=AGENT, at=at("2026-11-16T16:00:00+00:00"))
    feed(desk, store, catalogue).catch_up()
    assert sla_of(store, "2026-11-17T12:00:00+00:00") == [("zoom", "P1", 1, 0, 0, 0)]


def oracle(report: SlaReport) -> str | None:
    """The ticket's SLA state read straight off the domain's clock, worst clock first."""
    states = {c.state for c in report.clocks
              if c.kind != AUTO_CLOSE and c.state is not ClockState.CANCELLED}
    for state, name in ((ClockState.BREACHED, "breached"), (ClockState.AT_RISK, "at_risk"),
                        (ClockState.RUNNING, "running"), (ClockState.PAUSED, "running"),
                        (ClockState.MET, "met")):
        if state in states:
            return name
    return None


def test_sla_counts_agree_with_the_domain_clock_at_every_quarter_hour(
    desk: TicketDesk, catalogue: Catalogue, tmp_path: Path
) -> None:
    tickets = [
        open_ticket(desk, "2026-11-16T08:00:00+00:00", "A"),
        open_ticket(desk, "2026-11-16T08:10:00+00:00", "C"),
        open_ticket(desk, "2026-11-16T08:20:00+00:00", "P1", "zoom", "premier"),
        open_ticket(desk, "2026-11-16T08:30:00+00:00", "P2", "zoom", "premier"),
        open_ticket(desk, "2026-11-16T08:40:00+00:00", "C", plan="enterprise"),
    ]
    desk.respond(tickets[1], actor=AGENT, at=at("2026-11-16T09:00:00+00:00"))
    desk.request_info(tickets[2], actor=AGENT, at=at("2026-11-16T09:00:00+00:00"))
    desk.respond(tickets[3], actor=AGENT, at=at("2026-11-16T10:00:00+00:00"))
    desk.close_ticket(tickets[4], "resolved", actor=AGENT, at=at("2026-11-16T10:00:00+00:00"))
    store = caught_up(desk, catalogue, tmp_path)
    for step in range(9 * 4, 30 * 4):  # every quarter of an hour from 09:00 to 06:00 next day
        now = at("2026-11-16T00:00:00+00:00") + timedelta(minutes=15 * step)
        expected: Counter[tuple[str, str, str]] = Counter()
        for n in tickets:
            report = desk.sla(n, now=now)
            if (state := oracle(report)) is not None:
                expected[(report.desk, report.severity, state)] += 1
        got: Counter[tuple[str, str, str]] = Counter()
        for figure in figures(store, now).sla:
            for state in ("met", "at_risk", "breached", "running"):
                got[(figure.desk, figure.severity, state)] += getattr(figure, state)
        assert +got == expected, now


def test_first_response_percentiles_are_nearest_rank_in_business_seconds(
    desk: TicketDesk, catalogue: Catalogue, tmp_path: Path
) -> None:
    for minute in range(1, 11):  # o365 elevated C, 24x7: 60, 120, ... 600 seconds
        n = open_ticket(desk, "2026-11-16T09:00:00+00:00", "C")
        desk.respond(n, actor=AGENT, at=at(f"2026-11-16T09:{minute:02d}:00+00:00"))
    asked = open_ticket(desk, "2026-11-16T09:00:00+00:00", "A")
    desk.request_info(asked, actor=AGENT, at=at("2026-11-16T09:20:00+00:00"))  # asking counts
    never = open_ticket(desk, "2026-11-16T09:00:00+00:00", "A")
    desk.close_ticket(never, "closed_by_requester", actor=CUSTOMER, at=at("2026-11-16T09:05:00+00:00"))
    # zoom premier P2 on Mon-Fri 09-17 Amsterdam: Friday 16:30 to Monday 09:30 is one business hour.
    weekend = open_ticket(desk, "2026-11-13T16:30:00+01:00", "P2", "zoom", "premier")
    desk.respond(weekend, actor=AGENT, at=at("2026-11-16T09:30:00+01:00"))
    store = caught_up(desk, catalogue, tmp_path)
    assert figures(store, at("2026-11-17T00:00:00+00:00")).first_response == [
        ("o365", "A", 1, 1200.0, 1200.0, 1200.0),
        FirstResponseFigure("o365", "C", 10, p50=300.0, p90=540.0, p99=600.0),
        ("zoom", "P2", 1, 3600.0, 3600.0, 3600.0),
    ]


def test_nearest_rank_is_the_ceiling_of_p_percent_of_n() -> None:
    assert [rank(50, 10), rank(90, 10), rank(99, 10)] == [5, 9, 10]
    assert [rank(50, 1), rank(99, 1), rank(50, 3), rank(99, 200)] == [1, 1, 2, 198]


def test_percentiles_find_their_rank_across_many_buckets(
    desk: TicketDesk, catalogue: Catalogue, tmp_path: Path
) -> None:
    seconds = [2 ** k for k in range(1, 14)]  # 2 s .. 8192 s: every value in its own bucket
    for s in seconds:
        n = open_ticket(desk, "2026-11-16T09:00:00+00:00", "C")
        desk.respond(n, actor=AGENT, at=at("2026-11-16T09:00:00+00:00").replace(
            hour=9 + s // 3600, minute=s % 3600 // 60, second=s % 60))
    store = caught_up(desk, catalogue, tmp_path)
    (figure,) = figures(store, at("2026-11-17T00:00:00+00:00")).first_response
    assert figure == ("o365", "C", 13, seconds[6], seconds[11], seconds[12])  # ranks 7, 12, 13


def test_cached_figures_are_counted_once_per_position_and_minute(
    desk: TicketDesk, catalogue: Catalogue, tmp_path: Path
) -> None:
    open_ticket(desk, "2026-11-16T09:00:00+00:00")  # at risk from 10:30
    store = caught_up(desk, catalogue, tmp_path)
    position = dashboard_position(store)
    before = figures_cached(store, at("2026-11-16T10:29:59+00:00"), position)
    first = figures_cached(store, at("2026-11-16T10:30:10+00:00"), position)
    again = figures_cached(store, at("2026-11-16T10:30:50+00:00"), position)
    assert before.sla == [("o365", "B", 0, 0, 0, 1)]
    assert first.sla == [("o365", "B", 0, 1, 0, 0)] and first.as_of == at("2026-11-16T10:30:00+00:00")
    assert again is first
    open_ticket(desk, "2026-11-16T10:00:00+00:00")
    feed(desk, store, catalogue).catch_up()
    moved = figures_cached(store, at("2026-11-16T10:30:50+00:00"), dashboard_position(store))
    assert moved.sla == [("o365", "B", 0, 1, 0, 1)]


def test_the_dashboard_keeps_the_facts_the_domain_folds(
    desk: TicketDesk, catalogue: Catalogue, tmp_path: Path
) -> None:
    n = open_ticket(desk, "2026-11-16T09:00:00+00:00", "P1", "zoom", "premier-plus")
    desk.request_info(n, actor=AGENT, at=at("2026-11-16T09:10:00+00:00"))
    desk.customer_reply(n, actor=CUSTOMER, at=at("2026-11-16T09:20:00+00:00"))
    desk.set_severity(n, "P2", "reclassified", actor=AGENT, at=at("2026-11-16T09:30:00+00:00"))
    desk.escalate(n, "complaint", actor=CUSTOMER, at=at("2026-11-16T09:40:00+00:00"))
    desk.close_ticket(n, "resolved", actor=AGENT, at=at("2026-11-16T09:50:00+00:00"))
    store = read_store(tmp_path)
    feed(desk, store, catalogue, batch_size=2).catch_up()
    ((text,),) = store.read("SELECT facts FROM dashboard_facts")
    assert load_facts(text) == desk.facts(n)


def test_an_event_the_fold_refuses_is_set_aside_with_the_reason(
    desk: TicketDesk, catalogue: Catalogue, tmp_path: Path
) -> None:
    n = open_ticket(desk, "2026-11-16T09:00:00+00:00")
    desk.respond(n, actor=AGENT, at=at("2026-11-16T09:30:00+00:00"))
    open_ticket(desk, "2026-11-16T09:40:00+00:00")
    store = read_store(tmp_path)
    projection = DashboardProjection(catalogue)
    feed(desk, store, catalogue)  # creates the tables
    opened, responded, other = StoreReader(desk).read(0, 10)
    elsewhere = resealed(other, payload={**other.payload, "desk": "nowhere"})
    with store.transaction() as tx:
        aside = apply_batch(tx, projection, [opened, resealed(responded, type="Renamed"), elsewhere])
    assert [a.reason.split(";")[0] for a in aside] == [
        "known_event_type: unknown event type 'Renamed'", "known_desk: no desk 'nowhere'"]
    assert figures(store, at("2026-11-16T09:45:00+00:00")).open_by_desk_severity_status == [
        ("o365", "B", "new", 1)]


def projection_rows(store: ReadStore, catalogue: Catalogue) -> dict[str, list[tuple[object, ...]]]:
    return {table: sorted(store.read(f"SELECT * FROM {table}"))
            for table in DashboardProjection(catalogue).tables()}


def test_a_rebuild_from_position_zero_equals_the_dashboard_built_live_in_small_batches(
    desk: TicketDesk, catalogue: Catalogue, tmp_path: Path
) -> None:
    live_store = read_store(tmp_path, "live")
    live = feed(desk, live_store, catalogue, batch_size=3)
    a = open_ticket(desk, "2026-11-16T09:00:00+00:00", "A")
    b = open_ticket(desk, "2026-11-16T09:05:00+00:00", "P1", "zoom", "premier")
    live.step()
    desk.respond(a, actor=AGENT, at=at("2026-11-16T09:20:00+00:00"))
    desk.request_info(b, actor=AGENT, at=at("2026-11-16T09:25:00+00:00"))
    c = open_ticket(desk, "2026-11-16T09:30:00+00:00", "C")
    live.step()
    desk.customer_reply(b, actor=CUSTOMER, at=at("2026-11-16T10:00:00+00:00"))
    desk.set_severity(c, "A", "reclassified", actor=AGENT, at=at("2026-11-16T10:05:00+00:00"))
    desk.close_ticket(a, "resolved", actor=AGENT, at=at("2026-11-16T10:30:00+00:00"))
    live.catch_up()
    desk.respond(c, actor=AGENT, at=at("2026-11-16T11:00:00+00:00"))
    desk.close_ticket(b, "resolved", actor=AGENT, at=at("2026-11-16T11:30:00+00:00"))
    open_ticket(desk, "2026-11-16T11:40:00+00:00", "P1", "zoom", "premier")  # still running
    live.catch_up()
    rebuilt_store = read_store(tmp_path, "rebuilt")
    feed(desk, rebuilt_store, catalogue).catch_up()
    live_rows = projection_rows(live_store, catalogue)
    assert {table: len(rows) for table, rows in live_rows.items()} == {
        "dashboard_facts": 4, "dashboard_tickets": 4, "dashboard_counts": 13}
    assert projection_rows(rebuilt_store, catalogue) == live_rows
    now: datetime = at("2026-11-16T12:00:00+00:00")
    assert figures(rebuilt_store, now) == figures(live_store, now)
