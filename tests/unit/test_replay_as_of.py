"""Replay as of a moment: a ticket's state and SLA clocks as of a time or a version, event by event."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.unit.conftest import AGENT, CUSTOMER, SERVICE, at
from tickets.application.desk import TicketDesk
from tickets.domain.errors import TicketError, TicketNotFoundError, ValidationError
from tickets.domain.sla import ClockState
from tickets.replay.as_of import as_of


def lifecycle(desk: TicketDesk) -> str:
    n = desk.open(desk="web", requester=CUSTOMER.id, requester_role="editor", title="Page error",
                  fields=_web_fields(), actor=SERVICE, channel="web",
                  at=at("2026-11-16T09:00:00+01:00")).number
    desk.assign(n, "a-1", actor=AGENT, channel="cli", at=at("2026-11-16T09:30:00+01:00"))
    desk.request_info(n, actor=AGENT, channel="email", at=at("2026-11-16T10:00:00+01:00"))
    desk.customer_reply(n, actor=CUSTOMER, channel="email", at=at("2026-11-17T09:00:00+01:00"))
    desk.close_ticket(n, "resolved", actor=AGENT, at=at("2026-11-17T11:00:00+01:00"))
    return n


def _web_fields() -> dict[str, str]:
    return {"site_id": "1000", "contact_name": "Ann Peeters", "contact_phone": "+32 2 555 0100",
            "contact_email": "ann@example.be", "error_message": "Error 500",
            "url": "https://site1000.example.be/"}


@pytest.fixture
def ticket(desk: TicketDesk) -> str:
    desk.add_editor("web", "1000", CUSTOMER.id)
    return lifecycle(desk)


def test_as_of_a_time_shows_the_events_that_had_occurred_and_the_state_then(
    desk: TicketDesk, ticket: str
) -> None:
    result = as_of(desk, ticket, at=at("2026-11-16T12:00:00+01:00"))
    assert [s.entry.type for s in result.steps] == ["Opened", "Assigned", "InfoRequested"]
    assert result.version == 3
    assert result.facts.status == "action_needed"
    assert result.facts.agent == "a-1"
    assert result.moment == at("2026-11-16T12:00:00+01:00")


def test_each_step_names_who_acted_and_what_the_event_changed(desk: TicketDesk, ticket: str) -> None:
    steps = as_of(desk, ticket, version=5).steps
    assert [s.entry.actor for s in steps] == [
        "service:webform", "agent:a-1", "agent:a-1", "customer:c-1", "agent:a-1"]
    assert steps[1].changes["agent"] == (None, "a-1")
    assert steps[1].changes["status"] == ("new", "open")
    assert steps[2].changes["status"] == ("open", "action_needed")
    assert steps[4].changes["close_reason"] == (None, "resolved")
    assert "number" not in steps[1].changes  # only what changed
    assert steps[0].changes["number"] == (None, ticket)


def test_the_sla_clocks_are_computed_as_of_the_moment_with_their_policy_and_calendar_versions(
    desk: TicketDesk, ticket: str
) -> None:
    early = as_of(desk, ticket, at=at("2026-11-16T09:10:00+01:00"))
    first = early.report.clock("first_response")
    assert first is not None and first.state is ClockState.RUNNING
    assert first.timeline  # explained
    assert first.policy_version == desk.catalogue.desk("web").version
    assert first.calendar_version >= 1
    later = as_of(desk, ticket, at=at("2026-11-16T12:00:00+01:00"))
    resolution = later.report.clock("resolution")
    assert resolution is None or resolution.state is ClockState.PAUSED


def test_as_of_a_version_stops_at_that_version_and_uses_its_time(desk: TicketDesk, ticket: str) -> None:
    result = as_of(desk, ticket, version=2)
    assert result.version == 2 and len(result.steps) == 2
    assert result.moment == at("2026-11-16T09:30:00+01:00")


def test_personal_data_is_masked_unless_unmasked(desk: TicketDesk, ticket: str) -> None:
    masked = as_of(desk, ticket, version=1).steps[0].entry.payload["fields"]
    assert masked["contact_name"] == "***" and masked["site_id"] == "1000"
    shown = as_of(desk, ticket, version=1, unmask=True).steps[0].entry.payload["fields"]
    assert shown["contact_name"] == "Ann Peeters"


def test_a_time_before_the_ticket_existed_is_refused_naming_field_and_rule(
    desk: TicketDesk, ticket: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        as_of(desk, ticket, at=at("2026-11-16T09:00:00+01:00") - timedelta(seconds=1))
    assert (caught.value.field, caught.value.rule) == ("at", "not_before_opening")
    assert caught.value.ticket == ticket


def test_an_unknown_ticket_or_version_is_refused(desk: TicketDesk, ticket: str) -> None:
    with pytest.raises(TicketNotFoundError) as caught:
        as_of(desk, "WEB-000000", version=1)
    assert (caught.value.field, caught.value.rule) == ("ticket", "known_ticket")
    with pytest.raises(ValidationError) as bad_version:
        as_of(desk, ticket, version=6)
    assert (bad_version.value.field, bad_version.value.rule) == ("version", "known_version")
    with pytest.raises(TicketError):
        as_of(desk, ticket)
