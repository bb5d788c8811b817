"""The Ticket's lifecycle rules, through the TicketDesk application on the in-memory store."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.unit.conftest import AGENT, CUSTOMER, SERVICE, at
from tickets.application.clock import VirtualClock
from tickets.application.desk import TicketDesk
from tickets.domain.actor import SCHEDULER, Actor
from tickets.domain.errors import (
    ConcurrencyError,
    EntitlementError,
    LifecycleError,
    TicketNotFoundError,
    TimeOrderError,
    ValidationError,
)
from tickets.domain.numbers import ticket_id_for


def open_vendor(app: TicketDesk, when: str = "2026-11-16T10:00:00+01:00", **kw: object) -> str:
    args: dict[str, object] = dict(
        desk="nl-vendor", requester=CUSTOMER.id, requester_role="user", title="Export stops",
        actor=SERVICE, channel="web", at=at(when),
    )
    args.update(kw)
    return app.open(**args).number  # type: ignore[arg-type]


def versions(desk: TicketDesk, number: str) -> int:
    return desk.get(number).version


def test_open_issues_a_quotable_number_that_resolves_to_the_ticket(desk: TicketDesk) -> None:
    number = open_vendor(desk)
    assert number.startswith("NLV-") and len(number) == 10
    ticket = desk.get(number.lower())
    assert ticket.id == ticket_id_for(number)
    assert ticket.status == "new" and ticket.severity == "normal"


def test_unknown_ticket_is_a_clear_error(desk: TicketDesk) -> None:
    with pytest.raises(TicketNotFoundError) as caught:
        desk.get("NLV-000000")
    assert caught.value.rule == "known_ticket"
    with pytest.raises(ValidationError) as caught2:
        desk.get("not a ticket")
    assert caught2.value.field == "ticket"


@pytest.mark.parametrize(
    ("overrides", "error", "field", "rule"),
    [
        ({"desk": "nope"}, ValidationError, "desk", "known_desk"),
        ({"title": "  "}, ValidationError, "title", "required"),
        ({"requester_role": "guest"}, EntitlementError, "requester_role", "who_may_open"),
        ({"severity": "P1"}, EntitlementError, "severity", "severity_in_plan"),
        ({"plan": "gold"}, ValidationError, "plan", "known_plan"),
        ({"category": "x"}, ValidationError, "category", "known_category"),
        ({"channel": "pigeon"}, ValidationError, "channel", "known_channel"),
        ({"fields": {"Bad Name": "x"}}, ValidationError, "fields.Bad Name", "field_name_format"),
        ({"fields": {"n": 3}}, ValidationError, "n", "text"),
        ({"requester": "bad id!"}, ValidationError, "actor", "actor_id_format"),
    ],
)
def test_open_refuses_bad_input_naming_field_and_rule(
    desk: TicketDesk, overrides: dict[str, object], error: type[Exception], field: str, rule: str
) -> None:
    with pytest.raises(error) as caught:
        open_vendor(desk, **overrides)
    assert (caught.value.field, caught.value.rule) == (field, rule)  # type: ignore[attr-defined]
    assert list(desk.opened_ticket_ids()) == []


def test_time_in_the_future_is_refused(desk: TicketDesk) -> None:
    with pytest.raises(TimeOrderError) as caught:
        open_vendor(desk, at=desk.clock.now() + timedelta(minutes=5))
    assert caught.value.rule == "not_in_future"


def test_naive_time_is_refused(desk: TicketDesk) -> None:
    number = open_vendor(desk)
    with pytest.raises(TimeOrderError) as caught:
        desk.respond(number, actor=AGENT, at=at("2026-11-16T10:00:00+01:00").replace(tzinfo=None))
    assert caught.value.rule == "aware_time"


def test_event_before_the_previous_one_is_refused_and_store_unchanged(desk: TicketDesk) -> None:
    number = open_vendor(desk)
    desk.respond(number, actor=AGENT, at=at("2026-11-16T11:00:00+01:00"))
    with pytest.raises(TimeOrderError) as caught:
        desk.respond(number, actor=AGENT, at=at("2026-11-16T10:30:00+01:00"))
    assert caught.value.rule == "not_before_previous_event"
    assert caught.value.ticket == number
    assert versions(desk, number) == 2


@pytest.mark.parametrize("command", ["respond", "request_info", "reply", "assign", "escalate"])
def test_closed_ticket_refuses_further_work(desk: TicketDesk, command: str) -> None:
    number = open_vendor(desk)
    desk.close_ticket(number, "resolved", actor=AGENT, at=at("2026-11-16T12:00:00+01:00"))
    when = at("2026-11-16T13:00:00+01:00")
    calls = {
        "respond": lambda: desk.respond(number, actor=AGENT, at=when),
        "request_info": lambda: desk.request_info(number, actor=AGENT, at=when),
        "reply": lambda: desk.customer_reply(number, actor=CUSTOMER, at=when),
        "assign": lambda: desk.assign(number, "a-2", actor=AGENT, at=when),
        "escalate": lambda: desk.escalate(number, "by_hand", actor=AGENT, at=when),
    }
    with pytest.raises(LifecycleError) as caught:
        calls[command]()
    assert caught.value.rule == "ticket_closed"
    assert versions(desk, number) == 2


def test_closing_twice_is_refused(desk: TicketDesk) -> None:
    number = open_vendor(desk)
    desk.close_ticket(number, "resolved", actor=AGENT, at=at("2026-11-16T12:00:00+01:00"))
    with pytest.raises(LifecycleError) as caught:
        desk.close_ticket(number, "resolved", actor=AGENT, at=at("2026-11-16T12:01:00+01:00"))
    assert caught.value.rule == "closed_once"


def test_only_the_requester_or_a_service_replies(desk: TicketDesk) -> None:
    number = open_vendor(desk)
    when = at("2026-11-16T12:00:00+01:00")
    for stranger in (Actor("customer", "c-other"), AGENT):
        with pytest.raises(EntitlementError) as caught:
            desk.customer_reply(number, actor=stranger, at=when)
        assert caught.value.rule == "requester_only"
    desk.customer_reply(number, actor=CUSTOMER, at=when)
    desk.customer_reply(number, actor=SERVICE, at=when)
    assert versions(desk, number) == 3


def test_second_info_request_is_refused_unless_it_explicitly_replaces(desk: TicketDesk) -> None:
    number = open_vendor(desk)
    desk.request_info(number, actor=AGENT, at=at("2026-11-16T11:00:00+01:00"))
    with pytest.raises(LifecycleError) as caught:
        desk.request_info(number, actor=AGENT, at=at("2026-11-17T11:00:00+01:00"))
    assert caught.value.rule == "info_request_pending"
    desk.request_info(number, actor=AGENT, replace=True, at=at("2026-11-17T11:00:00+01:00"))
    ticket = desk.get(number)
    assert ticket.pending_info_since == at("2026-11-17T11:00:00+01:00")
    last = desk.history(number)[-1]
    assert last.type == "InfoRequested"
    assert last.payload["replaces"] == at("2026-11-16T11:00:00+01:00")


def test_customer_reply_resumes_and_cancels_the_countdown(desk: TicketDesk) -> None:
    number = open_vendor(desk)
    desk.request_info(number, actor=AGENT, at=at("2026-11-16T11:00:00+01:00"))
    assert desk.get(number).status == "action_needed"
    desk.customer_reply(number, actor=CUSTOMER, at=at("2026-11-16T12:00:00+01:00"))
    ticket = desk.get(number)
    assert ticket.status == "open" and ticket.pending_info_since is None


def test_stale_expected_version_loses_and_says_so(desk: TicketDesk) -> None:
    number = open_vendor(desk)
    desk.respond(number, actor=AGENT, at=at("2026-11-16T11:00:00+01:00"))
    with pytest.raises(ConcurrencyError) as caught:
        desk.respond(number, actor=AGENT, at=at("2026-11-16T11:05:00+01:00"), expected_version=1)
    assert caught.value.rule == "optimistic_concurrency"
    assert versions(desk, number) == 2


def test_severity_change_needs_a_known_reason_and_a_different_level(desk: TicketDesk) -> None:
    number = open_vendor(desk)
    when = at("2026-11-16T11:00:00+01:00")
    with pytest.raises(ValidationError):
        desk.set_severity(number, "high", "because", actor=AGENT, at=when)
    with pytest.raises(LifecycleError):
        desk.set_severity(number, "normal", "triage", actor=AGENT, at=when)
    desk.set_severity(number, "high", "triage", actor=AGENT, at=when)
    assert desk.get(number).severity == "high"


def test_severity_may_only_go_down_when_the_customer_cannot_cooperate(desk: TicketDesk) -> None:
    number = open_vendor(desk, severity="normal")
    when = at("2026-11-16T11:00:00+01:00")
    with pytest.raises(EntitlementError) as caught:
        desk.set_severity(number, "high", "customer_could_not_cooperate", actor=AGENT, at=when)
    assert caught.value.rule == "lower_only_when_customer_cannot_cooperate"
    desk.set_severity(number, "low", "customer_could_not_cooperate", actor=AGENT, at=when)


def test_severity_a_needs_the_special_agreement_and_billing_is_at_most_b(desk: TicketDesk) -> None:
    base = dict(desk="vianet", requester="c-9", requester_role="admin", title="Down",
                actor=SERVICE, at=at("2026-11-16T10:00:00+01:00"))
    with pytest.raises(EntitlementError) as caught:
        desk.open(**base, severity="A")  # type: ignore[arg-type]
    assert caught.value.rule == "severity_in_plan"
    with pytest.raises(EntitlementError) as caught:
        desk.open(**base, plan="special-agreement", category="billing", severity="A")  # type: ignore[arg-type]
    assert caught.value.rule == "category_max_severity"
    # "Az A súlyossági szint csak terméktámogatási esetekben érhető el.": not for pre-sales either.
    with pytest.raises(EntitlementError) as caught:
        desk.open(**base, plan="special-agreement", category="presales", severity="A")  # type: ignore[arg-type]
    assert caught.value.rule == "category_max_severity"
    assert desk.open(**base, plan="special-agreement", severity="A").number.startswith("VIA-")  # type: ignore[arg-type]


def test_complaint_goes_to_the_service_manager_and_no_level_twice(desk: TicketDesk) -> None:
    number = open_vendor(desk)
    desk.escalate(number, "complaint", actor=CUSTOMER, at=at("2026-11-16T11:00:00+01:00"))
    assert desk.get(number).level == "service_manager"
    with pytest.raises(LifecycleError) as caught:
        desk.escalate(number, "by_hand", actor=AGENT, at=at("2026-11-16T11:01:00+01:00"))
    assert caught.value.rule == "already_at_level"


def test_auto_close_needs_a_pending_request_a_warning_and_the_due_time(desk: TicketDesk) -> None:
    number = open_vendor(desk)
    scheduler = dict(actor=SCHEDULER, channel="scheduler")
    with pytest.raises(LifecycleError) as caught:
        desk.close_ticket(number, "no_reply", at=at("2026-11-16T12:00:00+01:00"), **scheduler)  # type: ignore[arg-type]
    assert caught.value.rule == "no_pending_request"
    # Monday 16 Nov 11:00 + 3 working days = Thursday 19 Nov 11:00; + 5 = Monday 23 Nov 11:00.
    desk.request_info(number, actor=AGENT, at=at("2026-11-16T11:00:00+01:00"))
    with pytest.raises(LifecycleError) as caught:
        desk.warn_auto_close(number, at=at("2026-11-19T10:59:59+01:00"), **scheduler)  # type: ignore[arg-type]
    assert caught.value.rule == "warning_not_due"
    with pytest.raises(LifecycleError) as caught:
        desk.close_ticket(number, "no_reply", at=at("2026-11-19T12:00:00+01:00"), **scheduler)  # type: ignore[arg-type]
    assert caught.value.rule == "not_warned"
    desk.warn_auto_close(number, at=at("2026-11-19T11:00:00+01:00"), **scheduler)  # type: ignore[arg-type]
    warned = desk.history(number)[-1]
    assert warned.payload["closes_at"] == at("2026-11-23T11:00:00+01:00")
    with pytest.raises(LifecycleError) as caught:
        desk.warn_auto_close(number, at=at("2026-11-19T11:00:00+01:00"), **scheduler)  # type: ignore[arg-type]
    assert caught.value.rule == "already_warned"
    with pytest.raises(EntitlementError):
        desk.close_ticket(number, "no_reply", actor=AGENT, at=at("2026-11-19T12:00:00+01:00"))


def test_reopen_follows_the_desk_policy(desk: TicketDesk, clock: VirtualClock) -> None:
    number = open_vendor(desk)
    desk.close_ticket(number, "resolved", actor=AGENT, at=at("2026-11-16T12:00:00+01:00"))
    desk.reopen(number, "still broken", actor=CUSTOMER, at=at("2026-11-17T09:00:00+01:00"))
    assert desk.get(number).status == "open"
    # Closed Tuesday 17 Nov 12:00; 5 working days later is Tuesday 24 Nov 12:00.
    desk.close_ticket(number, "resolved", actor=AGENT, at=at("2026-11-17T12:00:00+01:00"))
    clock.set(at("2026-11-25T00:00:00+01:00"))
    with pytest.raises(LifecycleError) as caught:
        desk.reopen(number, "late", actor=CUSTOMER, at=at("2026-11-24T12:00:01+01:00"))
    assert caught.value.rule == "reopen_window_passed"
    desk.reopen(number, "just in time", actor=CUSTOMER, at=at("2026-11-24T12:00:00+01:00"))


def test_web_desk_refuses_reopening_and_needs_registered_editors(desk: TicketDesk) -> None:
    fields = {
        "site_id": "1234", "contact_name": "Ann", "contact_phone": "+32 2 123 45 67",
        "contact_email": "ann@example.org", "error_message": "500 Internal Server Error",
        "url": "https://example.org/page",
    }
    base = dict(desk="web", requester="ed-1", requester_role="editor", title="Page broken",
                actor=SERVICE, fields=fields, at=at("2026-11-16T10:00:00+01:00"))
    with pytest.raises(EntitlementError) as caught:
        desk.open(**base)  # type: ignore[arg-type]
    assert caught.value.rule == "registered_editor"
    desk.add_editor("web", "1234", "ed-1")
    number = desk.open(**base).number  # type: ignore[arg-type]
    desk.close_ticket(number, "resolved", actor=AGENT, at=at("2026-11-16T12:00:00+01:00"))
    with pytest.raises(LifecycleError) as caught:
        desk.reopen(number, "again", actor=Actor("customer", "ed-1"),
                    at=at("2026-11-16T13:00:00+01:00"))
    assert caught.value.rule == "reopen_not_allowed"


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [("site_id", "123", "format"), ("site_id", "", "required"),
     ("contact_email", "nope", "format"), ("url", "ftp:/x", "format")],
)
def test_web_desk_validates_required_fields(
    desk: TicketDesk, field: str, value: str, rule: str
) -> None:
    fields = {
        "site_id": "1234", "contact_name": "Ann", "contact_phone": "+32 2 123 45 67",
        "contact_email": "ann@example.org", "error_message": "boom", "url": "https://e.org/",
        field: value,
    }
    with pytest.raises(ValidationError) as caught:
        desk.open(desk="web", requester="ed-1", requester_role="editor", title="T",
                  actor=SERVICE, fields=fields)
    assert (caught.value.field, caught.value.rule) == (field, rule)


def test_a_site_has_at_most_three_editors(desk: TicketDesk) -> None:
    for n in range(3):
        desk.add_editor("web", "4321", f"ed-{n}")
    with pytest.raises(EntitlementError) as caught:
        desk.add_editor("web", "4321", "ed-4")
    assert caught.value.rule == "max_editors_per_site"
    desk.remove_editor("web", "4321", "ed-0")
    assert desk.add_editor("web", "4321", "ed-4") == ["ed-1", "ed-2", "ed-4"]
