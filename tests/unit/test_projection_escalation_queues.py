"""The escalation queues projection: per level, tickets at risk, breached, complained about or escalated."""

from __future__ import annotations

from pathlib import Path

from tests.unit.conftest import AGENT, CUSTOMER, SERVICE, at
from tests.unit.projection_support import feed_into, read_store, resealed
from tickets.application.desk import TicketDesk
from tickets.consumers.feed import EmbeddedFeed
from tickets.consumers.store_reader import StoreReader
from tickets.domain.catalogue import Catalogue
from tickets.projections.escalation_queues import QUEUE_SQL, EscalationQueuesProjection, QueueEntry, queues
from tickets.projections.readstore import ReadStore
from tickets.projections.runner import apply_batch, create_schema
from tickets.wire.envelope import Envelope

TABLES = ("escalation_queue_state", "escalation_queue")


def catch_up(desk: TicketDesk, store: ReadStore, batch_size: int = 1000) -> EmbeddedFeed:
    return feed_into(desk, store, EscalationQueuesProjection(desk.catalogue), batch_size)


def open_ticket(desk: TicketDesk, plan: str, severity: str, when: str, role: str = "admin") -> str:
    return desk.open(desk="zoom", plan=plan, severity=severity, requester=CUSTOMER.id,
                     requester_role=role, title="T", actor=SERVICE, at=at(when)).number


def shown(store: ReadStore, when: str) -> dict[str, list[tuple[str, str, str]]]:
    """Per level, (number, state, reason) of each entry, leaving out empty levels."""
    found = queues(store, at(when))
    return {level: [(e.number, e.state, e.reason) for e in entries]
            for level, entries in found.items() if entries}


def dump(store: ReadStore, table: str) -> list[tuple[object, ...]]:
    return store.read(f"SELECT * FROM {table} ORDER BY 1")


def test_a_ticket_joins_its_levels_queue_when_at_risk_and_stays_once_breached(
    desk: TicketDesk, tmp_path: Path
) -> None:
    # Zoom Premier P2, Monday 09:00 Amsterdam: first response due 13:00, at risk from 12:00. A
    # licensed admin's ticket starts at level 2 ("Direct niveau 2 ... Beheerders met licentie").
    n = open_ticket(desk, "premier", "P2", "2026-11-16T09:00:00+01:00")
    store = read_store(tmp_path)
    catch_up(desk, store)
    assert shown(store, "2026-11-16T11:59:59+01:00") == {}
    assert shown(store, "2026-11-16T12:00:00+01:00") == {
        "level_2": [(n, "at_risk", "first_response at risk, due 2026-11-16T12:00Z")]}
    assert shown(store, "2026-11-16T13:00:00+01:00") == {
        "level_2": [(n, "breached", "first_response breached 2026-11-16T12:00Z")]}
    [entry] = queues(store, at("2026-11-16T13:00:00+01:00"))["level_2"]
    assert entry == QueueEntry(
        ticket_id=str(desk.ticket_id(n)), number=n, desk="zoom", severity="P2", level="level_2",
        kind="first_response", due=at("2026-11-16T13:00:00+01:00"),
        at_risk_at=at("2026-11-16T12:00:00+01:00"), reason_base="sla", state="breached",
        reason="first_response breached 2026-11-16T12:00Z",
    )


def test_each_queue_lists_the_earliest_deadline_first(desk: TicketDesk, tmp_path: Path) -> None:
    later = open_ticket(desk, "premier", "P2", "2026-11-16T09:00:00+01:00")  # due 13:00
    sooner = open_ticket(desk, "premier", "P1", "2026-11-16T09:30:00+01:00")  # due 10:30
    store = read_store(tmp_path)
    catch_up(desk, store)
    assert [e.number for e in queues(store, at("2026-11-16T14:00:00+01:00"))["level_2"]] == [
        sooner, later]
    assert [e.number for e in queues(store, at("2026-11-16T14:00:00+01:00"),
                                     limit_per_level=1)["level_2"]] == [sooner]


def test_the_clock_shown_is_the_running_one_with_the_earliest_deadline(
    desk: TicketDesk, tmp_path: Path
) -> None:
    n = open_ticket(desk, "premier", "P1", "2026-11-16T09:00:00+01:00")
    store = read_store(tmp_path)
    catch_up(desk, store)
    [before] = queues(store, at("2026-11-16T10:00:00+01:00"))["level_2"]
    assert (before.kind, before.due) == ("first_response", at("2026-11-16T10:00:00+01:00"))
    desk.respond(n, actor=AGENT, at=at("2026-11-16T09:50:00+01:00"))
    catch_up(desk, store)
    assert shown(store, "2026-11-16T12:00:00+01:00") == {
        "level_2": [(n, "at_risk", "resolution at risk, due 2026-11-16T12:00Z")]}


def test_a_breach_escalation_moves_the_ticket_up_a_level_with_its_reason(
    desk: TicketDesk, tmp_path: Path
) -> None:
    n = open_ticket(desk, "premier", "P2", "2026-11-16T09:00:00+01:00")
    desk.escalate(n, "breach", target="first_response", actor=AGENT,
                  at=at("2026-11-16T13:00:00+01:00"))
    store = read_store(tmp_path)
    catch_up(desk, store)
    assert shown(store, "2026-11-16T13:00:00+01:00") == {"service_manager": [
        (n, "breached", "breach of first_response; first_response breached 2026-11-16T12:00Z")]}


def test_a_complaint_goes_to_the_service_manager_queue(desk: TicketDesk, tmp_path: Path) -> None:
    n = open_ticket(desk, "premier", "P2", "2026-11-16T09:00:00+01:00")
    # A licensed member's ticket starts at the front line, without targets.
    lower = open_ticket(desk, "premier", "P2", "2026-11-16T09:00:00+01:00", "licensed_member")
    desk.escalate(n, "complaint", actor=CUSTOMER, at=at("2026-11-16T09:10:00+01:00"))
    desk.escalate(lower, "complaint", "level_2", actor=CUSTOMER, at=at("2026-11-16T09:10:00+01:00"))
    store = read_store(tmp_path)
    catch_up(desk, store)
    assert shown(store, "2026-11-16T09:10:00+01:00") == {"service_manager": [
        (number, "complaint", "complaint") for number in (n, lower)]}  # no due time: last
    [entry, _] = queues(store, at("2026-11-16T13:00:00+01:00"))["service_manager"]
    assert (entry.state, entry.reason) == (
        "complaint", "complaint; first_response breached 2026-11-16T12:00Z")


def test_a_ticket_escalated_by_hand_is_listed_even_without_an_sla_clock(
    desk: TicketDesk, tmp_path: Path
) -> None:
    n = open_ticket(desk, "access", "P3", "2026-11-16T09:00:00+01:00")  # Access carries no targets
    store = read_store(tmp_path)
    catch_up(desk, store)
    assert dump(store, "escalation_queue") == []
    desk.escalate(n, "by_hand", actor=AGENT, at=at("2026-11-16T09:30:00+01:00"))
    catch_up(desk, store)
    [entry] = queues(store, at("2026-11-16T09:30:00+01:00"))["level_2"]
    assert (entry.state, entry.reason, entry.kind, entry.due) == (
        "escalated", "escalated by hand", None, None)


def test_an_assignment_back_to_the_front_line_ends_the_escalation(
    desk: TicketDesk, tmp_path: Path
) -> None:
    n = open_ticket(desk, "premier", "P2", "2026-11-16T09:00:00+01:00")
    desk.escalate(n, "by_hand", actor=AGENT, at=at("2026-11-16T09:30:00+01:00"))
    desk.assign(n, "a-2", "front_line", actor=AGENT, at=at("2026-11-16T09:40:00+01:00"))
    store = read_store(tmp_path)
    catch_up(desk, store)
    assert shown(store, "2026-11-16T09:40:00+01:00") == {}
    assert shown(store, "2026-11-16T12:00:00+01:00") == {
        "front_line": [(n, "at_risk", "first_response at risk, due 2026-11-16T12:00Z")]}


def test_met_and_closed_tickets_leave_the_queue(desk: TicketDesk, tmp_path: Path) -> None:
    answered = open_ticket(desk, "premier", "P3", "2026-11-16T09:00:00+01:00")  # first response only
    closed = open_ticket(desk, "premier", "P2", "2026-11-16T09:00:00+01:00")
    desk.escalate(closed, "breach", target="first_response", actor=AGENT,
                  at=at("2026-11-16T13:00:00+01:00"))
    store = read_store(tmp_path)
    catch_up(desk, store)
    assert len(dump(store, "escalation_queue")) == 2
    desk.respond(answered, actor=AGENT, at=at("2026-11-16T13:10:00+01:00"))
    desk.close_ticket(closed, "resolved", actor=AGENT, at=at("2026-11-16T13:20:00+01:00"))
    catch_up(desk, store)
    assert dump(store, "escalation_queue") == []
    assert shown(store, "2026-11-30T00:00:00+01:00") == {}


def test_the_queue_query_reads_a_range_of_its_index(tmp_path: Path, catalogue: Catalogue) -> None:
    store = read_store(tmp_path)
    create_schema(store, [EscalationQueuesProjection(catalogue)])
    plan = store.read("EXPLAIN QUERY PLAN " + QUEUE_SQL, ("front_line", "2026-11-16", 10))
    details = " ".join(str(row[-1]) for row in plan)
    assert "USING INDEX escalation_queue_attention (level=? AND attention_at<?)" in details


def test_duplicate_envelopes_are_skipped(desk: TicketDesk, tmp_path: Path, catalogue: Catalogue) -> None:
    n = open_ticket(desk, "premier", "P2", "2026-11-16T09:00:00+01:00")
    desk.escalate(n, "by_hand", actor=AGENT, at=at("2026-11-16T09:30:00+01:00"))
    envelopes = StoreReader(desk).read(0, 100)
    store = read_store(tmp_path)
    projection = EscalationQueuesProjection(catalogue)
    create_schema(store, [projection])
    with store.transaction() as tx:
        assert apply_batch(tx, projection, envelopes) == []
    before = [dump(store, t) for t in TABLES]
    with store.transaction() as tx:
        assert apply_batch(tx, projection, envelopes[:1]) == []
        assert apply_batch(tx, projection, envelopes) == []
    assert [dump(store, t) for t in TABLES] == before
    assert shown(store, "2026-11-16T09:30:00+01:00") == {"service_manager": [
        (n, "escalated", "escalated by hand")]}
    assert store.read("SELECT COUNT(*) FROM set_aside") == [(0,)]


def test_a_gap_and_an_unknown_type_are_set_aside_while_other_tickets_apply(
    desk: TicketDesk, tmp_path: Path, catalogue: Catalogue
) -> None:
    odd = open_ticket(desk, "premier", "P2", "2026-11-16T09:00:00+01:00")
    gap = open_ticket(desk, "premier", "P2", "2026-11-16T09:00:00+01:00")
    desk.respond(gap, actor=AGENT, at=at("2026-11-16T09:10:00+01:00"))
    desk.escalate(gap, "by_hand", actor=AGENT, at=at("2026-11-16T09:20:00+01:00"))
    fine = open_ticket(desk, "premier", "P2", "2026-11-16T09:00:00+01:00")
    desk.escalate(fine, "by_hand", actor=AGENT, at=at("2026-11-16T09:30:00+01:00"))
    by_ticket: dict[str, list[Envelope]] = {}
    for envelope in StoreReader(desk).read(0, 100):
        by_ticket.setdefault(envelope.ticket_number, []).append(envelope)
    unknown = resealed(by_ticket[fine][1], ticket_id=by_ticket[odd][0].ticket_id,
                       ticket_number=odd, type="Merged", position=100,
                       prev_hash=by_ticket[odd][0].hash)
    batch = [by_ticket[odd][0], unknown, by_ticket[gap][0], by_ticket[gap][2], *by_ticket[fine]]
    store = read_store(tmp_path)
    projection = EscalationQueuesProjection(catalogue)
    create_schema(store, [projection])
    with store.transaction() as tx:
        aside = apply_batch(tx, projection, batch)
    assert [(a.envelope.ticket_number, a.envelope.version) for a in aside] == [(gap, 3), (odd, 2)]
    reasons = dict(store.read(
        "SELECT type, reason FROM set_aside WHERE projection = 'escalation_queues'"))
    assert reasons == {
        "Escalated": "gap in versions: expected 2, got 3",
        "Merged": "known_event_type: unknown event type 'Merged'",
    }
    at_risk = "first_response at risk, due 2026-11-16T12:00Z"
    assert shown(store, "2026-11-16T12:00:00+01:00") == {
        "level_2": [(n, "at_risk", at_risk) for n in sorted((odd, gap))],  # same due: by number
        "service_manager": [(fine, "at_risk", "escalated by hand; " + at_risk)],
    }


def test_a_rebuild_from_position_zero_equals_the_live_catch_up(desk: TicketDesk, tmp_path: Path) -> None:
    live = read_store(tmp_path, "live")
    a = open_ticket(desk, "premier-plus", "P2", "2026-11-02T09:00:00+01:00")
    b = open_ticket(desk, "premier", "P1", "2026-11-02T09:05:00+01:00")
    catch_up(desk, live, batch_size=3)
    desk.escalate(b, "at_risk", target="first_response", actor=AGENT,
                  at=at("2026-11-02T09:55:00+01:00"))
    desk.escalate(a, "complaint", actor=CUSTOMER, at=at("2026-11-02T10:00:00+01:00"))
    c = open_ticket(desk, "premier", "P2", "2026-11-02T10:05:00+01:00")
    catch_up(desk, live, batch_size=3)
    desk.respond(b, actor=AGENT, at=at("2026-11-02T10:10:00+01:00"))
    desk.request_info(c, actor=AGENT, at=at("2026-11-02T10:20:00+01:00"))
    desk.escalate(c, "by_hand", actor=AGENT, at=at("2026-11-02T10:30:00+01:00"))
    catch_up(desk, live, batch_size=3)
    desk.close_ticket(b, "resolved", actor=AGENT, at=at("2026-11-02T11:00:00+01:00"))
    d = open_ticket(desk, "premier", "P1", "2026-11-02T11:05:00+01:00")
    catch_up(desk, live, batch_size=3)
    rebuilt = read_store(tmp_path, "rebuilt")
    feed = catch_up(desk, rebuilt)
    assert feed.stats.batches == 1
    for table in TABLES:
        assert dump(rebuilt, table) == dump(live, table)
    assert {row[1] for row in dump(live, "escalation_queue")} == {a, c, d}
