"""The shortcuts a rebuild's hot path takes give what the plain code gives.

Each shortcut here skips Python-level work that runs once per event or once per moved ticket: the
facts written as text field by field, the clocks and dashboard rows built without their frozen
``__init__``, a calendar's days found by the calendar object's identity, a ticket id's and a
time's text remembered, the fold memo that fills its table only when projections fold one after
another. Each is checked against the general code it stands for, on several kinds of input.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.conftest import AGENT, CUSTOMER, SERVICE, at
from tickets.application.desk import TicketDesk
from tickets.consumers.store_reader import StoreReader
from tickets.domain import facts as domain_facts
from tickets.domain.calendar import BusinessCalendar
from tickets.domain.calendar_days import clear_caches, days_of
from tickets.domain.facts import TicketFacts, fold_all
from tickets.domain.sla import SlaReport, TargetClock, compute
from tickets.projections import facts_memo
from tickets.projections.dashboard_state import DashboardRow, dashboard_row
from tickets.projections.facts_state import _dump_any, dump_facts, id_text, load_facts, time_text
from tickets.projections.runner import fold
from tickets.projections_registry import all_projections
from tickets.wire.envelope import Envelope, format_time

T0 = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)


def a_life(desk: TicketDesk) -> list[Envelope]:
    """One ticket through most event types: responded, asked, answered, escalated, closed, reopened."""
    n = desk.open(desk="nl-vendor", plan="standard", category="problem", severity="high",
                  requester=CUSTOMER.id, requester_role="user", title="T", actor=SERVICE,
                  at=at("2026-11-16T09:00:00+01:00")).number
    desk.respond(n, actor=AGENT, at=at("2026-11-16T09:30:00+01:00"))
    desk.request_info(n, actor=AGENT, at=at("2026-11-16T09:40:00+01:00"))
    desk.customer_reply(n, actor=CUSTOMER, at=at("2026-11-16T11:00:00+01:00"))
    desk.escalate(n, "by_hand", actor=AGENT, at=at("2026-11-16T11:10:00+01:00"))
    desk.close_ticket(n, "resolved", actor=AGENT, at=at("2026-11-16T12:00:00+01:00"))
    desk.reopen(n, "not_fixed", actor=CUSTOMER, at=at("2026-11-17T10:00:00+01:00"))
    return StoreReader(desk).read(0, 10_000)


def odd_facts() -> list[TicketFacts]:
    """Facts the fold can hold, with text that needs escaping and every optional field set or not."""
    base = TicketFacts(
        ticket_id=uuid4(), number="ZOOM-00000A", desk="zoom", policy_version=2, plan="premier",
        category="technical", severity="P1", status="new", level="front_line", opened_at=T0,
        version=1, last_occurred_at=T0, severity_changes=((T0, "P1", "opened"),),
    )
    later = T0 + timedelta(hours=3, microseconds=17)
    return [
        base,
        dataclasses.replace(
            base, agent='ägent "quoted" \\ back', close_reason="no_reply", closed_at=later,
            first_response_at=later, last_agent_reply_at=later, pending_since=later,
            warned_at=later, info_pauses=((T0, later), (later, None)), closed_spans=((later, None),),
            severity_changes=((T0, "P1", "opened"), (later, "P3", "réclassé\n")),
            escalated_for=("at_risk:resolution", "breach:first_response"), complaint=True,
            requester_role=None, status="closed", version=9,
        ),
        dataclasses.replace(base, last_occurred_at=datetime(2026, 11, 16, 9, 30, tzinfo=UTC)
                            .astimezone(datetime.now().astimezone().tzinfo)),
    ]


def test_the_facts_text_is_the_plain_encoders_text_for_odd_values() -> None:
    for facts in odd_facts():
        assert dump_facts(facts) == _dump_any(facts)
        assert load_facts(dump_facts(facts)) == facts


def test_facts_holding_values_of_other_types_are_written_by_the_encoder() -> None:
    base = odd_facts()[0]
    for odd in (dataclasses.replace(base, severity=3), dataclasses.replace(base, version=True),
                dataclasses.replace(base, agent=1.5), dataclasses.replace(base, complaint=1)):
        assert dump_facts(odd) == _dump_any(odd)


def test_the_facts_of_a_real_life_are_written_as_the_encoder_writes_them(desk: TicketDesk) -> None:
    batch = a_life(desk)
    for end in range(1, len(batch) + 1):
        facts = fold_all(e.history_entry for e in batch[:end])
        assert dump_facts(facts) == _dump_any(facts)


_ZONES = st.sampled_from([UTC, ZoneInfo("Europe/Brussels"), ZoneInfo("Pacific/Chatham"),
                          timezone(timedelta(hours=-3, minutes=-30))])
_TIMES = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1),
                      timezones=_ZONES)
_MAYBE_TIME = st.none() | _TIMES
_MAYBE_TEXT = st.none() | st.text()


@settings(max_examples=300, deadline=None)
@given(agent=_MAYBE_TEXT, close_reason=_MAYBE_TEXT, requester_role=_MAYBE_TEXT, text=st.text(),
       times=st.lists(_MAYBE_TIME, min_size=5, max_size=5), opened=_TIMES, last=_TIMES,
       spans=st.lists(st.tuples(_TIMES, _MAYBE_TIME), max_size=3),
       changes=st.lists(st.tuples(_TIMES, st.text(), st.text()), max_size=3),
       escalated=st.lists(st.text(), max_size=3), complaint=st.booleans(),
       versions=st.tuples(st.integers(-2**70, 2**70), st.integers(0, 2**40)))
def test_the_facts_text_written_out_is_the_encoders_text_for_any_facts(
    agent: str | None, close_reason: str | None, requester_role: str | None, text: str,
    times: list[datetime | None], opened: datetime, last: datetime,
    spans: list[tuple[datetime, datetime | None]], changes: list[tuple[datetime, str, str]],
    escalated: list[str], complaint: bool, versions: tuple[int, int],
) -> None:
    facts = dataclasses.replace(
        odd_facts()[0], agent=agent, close_reason=close_reason, requester_role=requester_role,
        category=text, desk=text, level=text, number=text, plan=text, severity=text, status=text,
        closed_at=times[0], first_response_at=times[1], last_agent_reply_at=times[2],
        pending_since=times[3], warned_at=times[4], opened_at=opened, last_occurred_at=last,
        closed_spans=tuple(spans), info_pauses=tuple(reversed(spans)),
        severity_changes=tuple(changes), escalated_for=tuple(escalated), complaint=complaint,
        version=versions[0], policy_version=versions[1],
    )
    assert dump_facts(facts) == _dump_any(facts)
    assert dump_facts(facts) == _dump_any(facts)  # again, the times now noted


def test_a_times_text_noted_under_one_zone_is_the_same_instants_text_in_another() -> None:
    brussels = datetime(2026, 11, 16, 9, 0, 0, 250, tzinfo=ZoneInfo("Europe/Brussels"))
    same = brussels.astimezone(UTC)
    assert time_text(brussels) == format_time(brussels) == "2026-11-16T08:00:00.000250Z"
    assert time_text(same) == format_time(same)  # equal instants: one key, one text


def test_clocks_built_without_init_have_every_field_and_equal_clocks_built_with_it(
    desk: TicketDesk,
) -> None:
    batch = a_life(desk)
    desk_policy = desk.catalogue.desk("nl-vendor")
    for end in range(1, len(batch) + 1):
        facts = fold_all(e.history_entry for e in batch[:end])
        for now in (facts.last_occurred_at, facts.last_occurred_at + timedelta(days=3)):
            report = compute(facts, desk_policy, now)
            assert list(vars(report)) == [f.name for f in dataclasses.fields(SlaReport)]
            assert report == SlaReport(**vars(report))
            for clock in report.clocks:
                assert list(vars(clock)) == [f.name for f in dataclasses.fields(TargetClock)]
                assert clock == TargetClock(**vars(clock))
                assert hash(clock) == hash(TargetClock(**vars(clock)))
                for when in (clock.start, clock.due, clock.at_risk_at, clock.stopped_at):
                    if when is not None:  # the rows write the clocks' times through the memo
                        assert time_text(when) == format_time(when)


def test_dashboard_rows_built_without_init_have_every_field_and_read_back_equal(
    desk: TicketDesk,
) -> None:
    batch = a_life(desk)
    desk_policy = desk.catalogue.desk("nl-vendor")
    for end in range(1, len(batch) + 1):
        row = dashboard_row(fold_all(e.history_entry for e in batch[:end]), desk_policy)
        assert list(vars(row)) == [f.name for f in dataclasses.fields(DashboardRow)]
        assert row == DashboardRow(**vars(row)) == DashboardRow.from_values(row.values())
        assert hash(row) == hash(DashboardRow(**vars(row)))


def test_equal_calendars_share_their_days_whether_or_not_they_are_one_object() -> None:
    clear_caches()
    hours = {day: ((time(9), time(17)),) for day in range(5)}
    one = BusinessCalendar("office", "Europe/Amsterdam", hours, holiday_country="NL")
    same = BusinessCalendar("office", "Europe/Amsterdam", hours, holiday_country="NL")
    other = BusinessCalendar("office", "Europe/Amsterdam", hours, holiday_country="BE")
    assert one is not same
    assert days_of(one) is days_of(same) is days_of(one)
    assert days_of(other) is not days_of(one)
    start = datetime(2026, 4, 24, 16, tzinfo=UTC)  # King's Day (27 April) is a holiday in NL only
    assert one.add(start, timedelta(hours=8)) == same.add(start, timedelta(hours=8))
    assert one.add(start, timedelta(hours=8)) != other.add(start, timedelta(hours=8))
    clear_caches()
    assert days_of(one) is days_of(same)


def test_a_ticket_ids_text_is_its_canonical_text_and_never_another_objects() -> None:
    ids = [uuid4() for _ in range(50)]
    assert [id_text(u) for u in ids] == [str(u) for u in ids]
    assert [id_text(u) for u in ids] == [str(u) for u in ids]  # again, from the memo
    copy = UUID(str(ids[0]))
    assert id_text(copy) == str(ids[0])
    for _ in range(200):  # objects freed (reference counting) and others made in their place
        fresh = uuid4()
        assert id_text(fresh) == str(fresh)
        del fresh


@pytest.mark.parametrize("in_turn", [True, False])
def test_the_projections_fold_each_envelope_once_in_turn_or_one_after_another(
    desk: TicketDesk, monkeypatch: pytest.MonkeyPatch, in_turn: bool,
) -> None:
    batch = a_life(desk)
    projections = all_projections(desk.catalogue)
    calls: list[Any] = []

    def counted(facts: TicketFacts | None, entry: Any) -> TicketFacts:
        calls.append(entry)
        return domain_facts.fold(facts, entry)

    facts_memo.clear()
    monkeypatch.setattr(facts_memo, "fold", counted)
    if in_turn:  # the group: one list for every projection
        folded = fold(projections, [{} for _ in projections], [batch] * len(projections))
    else:  # a list per projection: each folds the whole batch before the next one starts
        folded = fold(projections, [{} for _ in projections], [list(batch) for _ in projections])
    assert len(calls) == len(batch)  # three projections keep facts: one fold per envelope for all
    facts_memo.clear()
    monkeypatch.setattr(facts_memo, "fold", domain_facts.fold)
    alone = [fold([p], [{}], [batch])[0] for p in projections]
    assert [f[0] for f in folded] == [f[0] for f in alone]
