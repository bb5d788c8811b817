"""The projections as pure read-model code: envelopes into ``evolve``, rows out, no database.

The runner's part that does no I/O (``fold``, ``derive``, ``statements``) is exercised here too:
what it would write for a ticket that moves from one set of rows to another.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from tests.unit.conftest import AGENT, CUSTOMER, SERVICE, at
from tickets.application.desk import TicketDesk
from tickets.consumers.store_reader import StoreReader
from tickets.domain.facts import fold_all
from tickets.domain.sla import ClockState
from tickets.projections.audit_trail import AuditTrailProjection
from tickets.projections.base import Projection, Refused
from tickets.projections.dashboard import DashboardProjection
from tickets.projections.escalation_queues import EscalationQueuesProjection
from tickets.projections.runner import derive, fold, statements
from tickets.projections.sla_timers import SlaTimersProjection
from tickets.projections_registry import all_projections
from tickets.wire.envelope import Envelope


def open_ticket(desk: TicketDesk, when: str = "2026-11-16T09:00:00+01:00") -> str:
    return desk.open(desk="zoom", plan="premier", severity="P2", requester=CUSTOMER.id,
                     requester_role="admin", title="T", actor=SERVICE, at=at(when)).number


def envelopes(desk: TicketDesk) -> list[Envelope]:
    return StoreReader(desk).read(0, 10_000)


def state_after(projection: Projection[Any], batch: list[Envelope]) -> Any:
    ((after, _, aside),) = fold([projection], [{}], [batch])
    assert aside == []
    (state,) = after.values()
    return state


def rows_of(projection: Projection[Any], batch: list[Envelope], table: str) -> list[tuple[Any, ...]]:
    return list(projection.rows(state_after(projection, batch))[table])


def test_the_timers_show_each_clock_and_stop_first_response_when_an_agent_responds(
    desk: TicketDesk,
) -> None:
    n = open_ticket(desk)
    projection = SlaTimersProjection(desk.catalogue)
    opened = {row[1]: row for row in rows_of(projection, envelopes(desk), "sla_timers")}
    assert opened["first_response"][8] == ClockState.RUNNING.value
    assert opened["first_response"][12] is None  # not stopped
    desk.respond(n, actor=AGENT, at=at("2026-11-16T09:30:00+01:00"))
    responded = {row[1]: row for row in rows_of(projection, envelopes(desk), "sla_timers")}
    assert responded["first_response"][8] == ClockState.MET.value
    assert responded["first_response"][12] == "2026-11-16T08:30:00.000000Z"
    assert {row[20] for row in responded.values()} == {envelopes(desk)[-1].position}


def test_the_timers_state_is_the_domains_fold_of_the_history(desk: TicketDesk) -> None:
    n = open_ticket(desk)
    desk.request_info(n, actor=AGENT, at=at("2026-11-16T10:00:00+01:00"))
    desk.customer_reply(n, actor=CUSTOMER, at=at("2026-11-16T11:00:00+01:00"))
    state = state_after(SlaTimersProjection(desk.catalogue), envelopes(desk))
    assert state.facts == fold_all(desk.history(n))


def test_an_escalation_is_shown_until_an_assignment_moves_the_ticket_to_another_level(
    desk: TicketDesk,
) -> None:
    n = open_ticket(desk)
    projection = EscalationQueuesProjection(desk.catalogue)
    desk.escalate(n, "by_hand", actor=AGENT, at=at("2026-11-16T09:30:00+01:00"))
    [row] = rows_of(projection, envelopes(desk), "escalation_queue")
    assert row[8] == "escalated by hand"
    assert row[9] == "2026-11-16T08:30:00.000000Z"  # attention at once
    desk.assign(n, "a-2", "front_line", actor=AGENT, at=at("2026-11-16T09:40:00+01:00"))
    [row] = rows_of(projection, envelopes(desk), "escalation_queue")
    assert row[8] == "sla"  # back in the queue by its clock alone, from when it turns at risk
    assert row[9] == row[7]


def test_a_closed_ticket_has_no_queue_row(desk: TicketDesk) -> None:
    n = open_ticket(desk)
    desk.close_ticket(n, "resolved", actor=AGENT, at=at("2026-11-16T10:00:00+01:00"))
    assert rows_of(EscalationQueuesProjection(desk.catalogue), envelopes(desk),
                   "escalation_queue") == []


def test_the_audit_trail_refuses_an_envelope_that_breaks_the_chain(desk: TicketDesk) -> None:
    n = open_ticket(desk)
    desk.respond(n, actor=AGENT, at=at("2026-11-16T09:30:00+01:00"))
    first, second = envelopes(desk)
    projection = AuditTrailProjection()
    head = projection.evolve(None, first)
    assert head == (1, first.hash)
    tampered = replace(second, payload={"altered": True})
    with pytest.raises(Refused, match="hash chain broken at version 2"):
        projection.evolve(head, tampered)
    ((after, logs, aside),) = fold([projection], [{}], [[first, tampered, second]])
    assert [a.envelope for a in aside] == [tampered]
    assert [row[1] for row in logs["audit_trail"]] == [1, 2]  # one row per event applied
    assert after == {first.ticket_id: (2, second.hash)}


def test_the_dashboard_refuses_a_desk_the_catalogue_does_not_know(desk: TicketDesk) -> None:
    open_ticket(desk)
    [opened] = envelopes(desk)
    elsewhere = replace(opened, payload={**opened.payload, "desk": "nowhere"})
    ((after, _, aside),) = fold([DashboardProjection(desk.catalogue)], [{}], [[elsewhere]])
    assert after == {} and [a.envelope for a in aside] == [elsewhere]


def test_the_counters_move_by_the_difference_between_a_tickets_old_and_new_row(
    desk: TicketDesk,
) -> None:
    n = open_ticket(desk)
    projection = DashboardProjection(desk.catalogue)
    before = state_after(projection, envelopes(desk))
    desk.close_ticket(n, "resolved", actor=AGENT, at=at("2026-11-16T10:00:00+01:00"))
    after = state_after(projection, envelopes(desk))
    ticket = str(after.ticket_id)
    [new] = derive([projection], [{ticket: after}])
    written = dict(statements(projection, new, {ticket: projection.rows(before)}, {}))
    counted = {row[:4]: row[4] for row in written[projection.counts.add()]}  # type: ignore[union-attr]
    assert counted[("status", "zoom", "P2", "new")] == -1  # no longer counted as new
    assert all(n in (-1, 1) for n in counted.values())
    assert written[projection.counts.drop_zero()] == sorted(counted)  # type: ignore[union-attr]


def test_rows_a_ticket_no_longer_has_are_deleted_and_unchanged_rows_left_alone(
    desk: TicketDesk,
) -> None:
    n = open_ticket(desk)
    desk.request_info(n, actor=AGENT, at=at("2026-11-16T10:00:00+01:00"))
    projection = SlaTimersProjection(desk.catalogue)
    waiting = state_after(projection, envelopes(desk))
    desk.customer_reply(n, actor=CUSTOMER, at=at("2026-11-16T11:00:00+01:00"))
    replied = state_after(projection, envelopes(desk))
    ticket = str(replied.facts.ticket_id)
    [new] = derive([projection], [{ticket: replied}])
    written = dict(statements(projection, new, {ticket: projection.rows(waiting)}, {}))
    assert written["DELETE FROM sla_timers WHERE ticket_id = ? AND kind = ?"] == [(ticket, "auto_close")]
    [same] = derive([projection], [{ticket: waiting}])
    again = dict(statements(projection, same, {ticket: projection.rows(waiting)}, {}))
    assert again[projection.tables_declared[0].upsert()] == []


def test_every_projection_folds_one_batch_as_it_folds_the_same_envelopes_one_by_one(
    desk: TicketDesk,
) -> None:
    n = open_ticket(desk)
    desk.respond(n, actor=AGENT, at=at("2026-11-16T09:30:00+01:00"))
    desk.escalate(n, "by_hand", actor=AGENT, at=at("2026-11-16T09:40:00+01:00"))
    desk.close_ticket(n, "resolved", actor=AGENT, at=at("2026-11-16T10:00:00+01:00"))
    batch = envelopes(desk)
    for projection in all_projections(desk.catalogue):
        together = state_after(projection, batch)
        one_by_one = None
        for envelope in batch:
            one_by_one = projection.evolve(one_by_one, envelope)
        assert one_by_one == together
        assert projection.rows(one_by_one) == projection.rows(together)
