"""The SLA clock of one ticket: due times, business time used, pauses, states, re-targeting."""

from __future__ import annotations

from datetime import timedelta

from tests.unit.conftest import AGENT, CUSTOMER, SERVICE, at
from tickets.application.desk import TicketDesk
from tickets.domain.actor import SCHEDULER
from tickets.domain.sla import ClockState


def open_ticket(desk: TicketDesk, name: str, plan: str, severity: str, when: str,
                role: str = "admin") -> str:
    return desk.open(desk=name, plan=plan, severity=severity, requester=CUSTOMER.id,
                     requester_role=role, title="T", actor=SERVICE, at=at(when)).number


def test_first_response_met_within_the_hour_on_24x7(desk: TicketDesk) -> None:
    n = open_ticket(desk, "o365", "enterprise", "A", "2026-11-14T22:00:00+00:00")
    desk.respond(n, actor=AGENT, at=at("2026-11-14T22:30:00+00:00"))
    clock = desk.sla(n).clock("first_response")
    assert clock is not None
    assert clock.state is ClockState.MET
    assert clock.due == at("2026-11-14T23:00:00+00:00")
    assert clock.used == timedelta(minutes=30)


def test_first_response_at_risk_then_breached(desk: TicketDesk) -> None:
    n = open_ticket(desk, "o365", "elevated", "A", "2026-11-14T22:00:00+00:00")
    at_risk = desk.sla(n, now=at("2026-11-14T22:46:00+00:00")).clock("first_response")
    breached = desk.sla(n, now=at("2026-11-14T23:00:00+00:00")).clock("first_response")
    assert at_risk is not None and at_risk.state is ClockState.AT_RISK
    assert at_risk.at_risk_at == at("2026-11-14T22:45:00+00:00")
    assert breached is not None and breached.state is ClockState.BREACHED


def test_vianet_one_working_day_is_fifteen_hours_ending_at_midnight(desk: TicketDesk) -> None:
    # Saturday 14 Nov 20:00 Shanghai: 4 h until 24:00, then 11 h on Sunday from 09:00 → 20:00.
    n = open_ticket(desk, "vianet", "standard", "B", "2026-11-14T20:00:00+08:00")
    clock = desk.sla(n, now=at("2026-11-14T20:00:00+08:00")).clock("first_response")
    assert clock is not None and clock.due == at("2026-11-15T20:00:00+08:00")


def test_resolution_pauses_while_the_customer_owes_information(desk: TicketDesk) -> None:
    # Zoom Premier P2: restore in 8 business hours on Mon-Fri 09-17 Amsterdam.
    n = open_ticket(desk, "zoom", "premier", "P2", "2026-11-16T09:00:00+01:00")
    desk.respond(n, actor=AGENT, at=at("2026-11-16T09:30:00+01:00"))
    desk.request_info(n, actor=AGENT, at=at("2026-11-16T10:00:00+01:00"))
    paused = desk.sla(n, now=at("2026-11-16T15:00:00+01:00")).clock("resolution")
    assert paused is not None
    assert paused.state is ClockState.PAUSED and paused.due is None
    assert paused.used == timedelta(hours=1)
    desk.customer_reply(n, actor=CUSTOMER, at=at("2026-11-17T10:00:00+01:00"))
    resumed = desk.sla(n, now=at("2026-11-17T10:00:00+01:00"), explain=True).clock("resolution")
    assert resumed is not None
    assert resumed.state is ClockState.RUNNING
    assert resumed.due == at("2026-11-17T17:00:00+01:00")
    reasons = {i.reason for i in resumed.timeline}
    assert reasons == {"open", "paused"}


def test_severity_change_retargets_from_the_tickets_start(desk: TicketDesk) -> None:
    n = open_ticket(desk, "zoom", "premier", "P3", "2026-11-16T09:00:00+01:00")
    before = desk.sla(n, now=at("2026-11-16T09:20:00+01:00")).clock("first_response")
    assert before is not None and before.due == at("2026-11-18T17:00:00+01:00")
    desk.set_severity(n, "P1", "reclassified", actor=AGENT, at=at("2026-11-16T09:30:00+01:00"))
    after = desk.sla(n, now=at("2026-11-16T09:50:00+01:00")).clock("first_response")
    assert after is not None and after.due == at("2026-11-16T10:00:00+01:00")
    assert after.state is ClockState.AT_RISK


def test_no_reply_close_cancels_the_resolution_target(desk: TicketDesk) -> None:
    n = open_ticket(desk, "zoom", "premier", "P2", "2026-11-02T09:00:00+01:00")
    desk.request_info(n, actor=AGENT, at=at("2026-11-02T09:10:00+01:00"))
    auto = desk.sla(n, now=at("2026-11-02T10:00:00+01:00")).clock("auto_close")
    assert auto is not None
    assert auto.due == at("2026-11-09T09:10:00+01:00")
    assert auto.at_risk_at == at("2026-11-05T09:10:00+01:00")
    desk.warn_auto_close(n, actor=SCHEDULER, at=at("2026-11-05T09:10:00+01:00"))
    desk.close_ticket(n, "no_reply", actor=SCHEDULER, at=at("2026-11-09T09:10:00+01:00"))
    report = desk.sla(n)
    resolution = report.clock("resolution")
    assert resolution is not None and resolution.state is ClockState.CANCELLED
    assert report.clock("auto_close") is None
    first = report.clock("first_response")
    assert first is not None and first.state is ClockState.MET


def test_severity_without_a_target_has_no_clock(desk: TicketDesk) -> None:
    n = open_ticket(desk, "o365", "enterprise", "C", "2026-11-14T22:00:00+00:00")
    assert desk.sla(n).clock("first_response") is None


def test_rule_escalation_rechecks_the_clock_and_fires_once_per_target(desk: TicketDesk) -> None:
    import pytest

    from tickets.domain.errors import LifecycleError

    n = open_ticket(desk, "o365", "enterprise", "A", "2026-11-14T22:00:00+00:00")
    with pytest.raises(LifecycleError) as caught:
        desk.escalate(n, "breach", target="first_response", actor=AGENT,
                      at=at("2026-11-14T22:59:59+00:00"))
    assert caught.value.rule == "sla_clock_state"
    desk.escalate(n, "breach", target="first_response", actor=AGENT,
                  at=at("2026-11-14T23:00:00+00:00"))
    assert desk.get(n).level == "level_2"
    with pytest.raises(LifecycleError) as caught:
        desk.escalate(n, "breach", target="first_response", actor=AGENT,
                      at=at("2026-11-14T23:00:01+00:00"))
    assert caught.value.rule == "escalated_once_per_target"
    assert desk.facts(n).escalated_for == ("breach:first_response",)


def test_auto_close_clock_is_at_risk_from_the_warning_time(desk: TicketDesk) -> None:
    n = open_ticket(desk, "zoom", "premier", "P2", "2026-11-02T09:00:00+01:00")
    desk.request_info(n, actor=AGENT, at=at("2026-11-02T09:10:00+01:00"))
    before = desk.sla(n, now=at("2026-11-05T09:09:59+01:00")).clock("auto_close")
    after = desk.sla(n, now=at("2026-11-05T09:10:00+01:00")).clock("auto_close")
    due = desk.sla(n, now=at("2026-11-09T09:10:00+01:00")).clock("auto_close")
    assert before is not None and before.state is ClockState.RUNNING
    assert after is not None and after.state is ClockState.AT_RISK
    assert due is not None and due.state is ClockState.BREACHED
