"""What-if SLA replay: a period of a desk's history under another policy file, outcome by outcome."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from tests.unit.replay_week import WEEK_END, WEEK_START, project, sqlite_desk, write_week
from tickets.application.desk import TicketDesk
from tickets.domain.catalogue import Catalogue
from tickets.domain.errors import PolicyError
from tickets.projections.readstore import ReadStore
from tickets.replay.what_if import what_if


@pytest.fixture
def desk(tmp_path: Path, catalogue: Catalogue) -> TicketDesk:
    desk = sqlite_desk(tmp_path / "events.sqlite3", catalogue)
    write_week(desk, tickets=60)
    return desk


def policy(tmp_path: Path, desk_id: str, *changes: tuple[str, str]) -> Path:
    """The shipped policy file of ``desk_id`` with each (old, new) text replaced."""
    text = resources.files("domain").joinpath("policies", f"{desk_id}.toml").read_text("utf-8")
    for old, new in changes:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / f"{desk_id}-what-if.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_same_policy_changes_no_outcome(desk: TicketDesk, tmp_path: Path) -> None:
    result = what_if(desk, policy(tmp_path, "zoom"), WEEK_START, WEEK_END)
    assert result.tickets and result.totals()["outcomes_changed"] == 0


def test_a_tighter_target_turns_met_responses_into_breaches_with_both_policy_versions(
    desk: TicketDesk, tmp_path: Path
) -> None:
    tighter = policy(tmp_path, "zoom", ("version = 2", "version = 3"),
                     ('within = "4 hours"', 'within = "10 minutes"'))
    result = what_if(desk, tighter, WEEK_START, WEEK_END)
    changed = [(t, o) for t in result.tickets for o in t.changed]
    assert changed
    assert all(o.kind in ("first_response", "resolution") for _, o in changed)
    assert any((o.before.state, o.after.state) == ("met", "breached") for _, o in changed)
    assert all(o.before.policy_version == 2 and o.after.policy_version == 3 for _, o in changed)
    assert all(o.after.calendar_version is not None for _, o in changed)
    totals = result.totals()
    assert totals["outcomes_changed"] == len(changed)
    assert totals["breached_after"] > totals["breached_before"]  # type: ignore[operator]
    assert (result.live_version, result.other_version) == (2, 3)


def test_an_added_holiday_moves_due_times_and_names_the_calendar_version(
    desk: TicketDesk, tmp_path: Path
) -> None:
    holiday = policy(tmp_path, "web", ('holidays = { country = "BE" }',
                                       'holidays = { country = "BE" }\nextra_holidays = ["2026-11-17", '
                                       '"2026-11-18"]\nversion = 3'))
    result = what_if(desk, holiday, WEEK_START, WEEK_END)
    moved = [o for t in result.tickets for o in t.changed]
    assert moved
    assert all(o.after.calendar_version == 3 and o.before.calendar_version == 1 for o in moved)
    assert any(o.before.due and o.after.due and o.after.due > o.before.due for o in moved)


def test_another_plan_for_every_ticket_of_the_period(desk: TicketDesk, tmp_path: Path) -> None:
    result = what_if(desk, policy(tmp_path, "zoom"), WEEK_START, WEEK_END, plan="access")
    assert {t.plan for t in result.tickets} == {"access"}
    targeted = [t for t in result.tickets if t.outcomes and t.outcomes[0].before.state != "absent"]
    assert targeted and all(o.after.state == "absent" for t in targeted for o in t.changed)


def test_a_policy_file_that_does_not_parse_is_a_policy_error(desk: TicketDesk, tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[desk\nid = 'zoom'\n", encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        what_if(desk, broken, WEEK_START, WEEK_END)
    assert caught.value.file == str(broken)
    with pytest.raises(PolicyError):
        what_if(desk, policy(tmp_path, "zoom"), WEEK_START, WEEK_END, plan="gold")


def test_the_live_projections_and_the_store_stay_untouched(desk: TicketDesk, tmp_path: Path) -> None:
    store = ReadStore(f"sqlite:///{tmp_path / 'live.sqlite3'}")
    project(desk, store)
    before = store.read("SELECT * FROM sla_timers ORDER BY ticket_id, kind")
    position = desk.recorder.max_notification_id()
    what_if(desk, policy(tmp_path, "zoom", ('within = "4 hours"', 'within = "1 minute"')),
            WEEK_START, WEEK_END)
    assert store.read("SELECT * FROM sla_timers ORDER BY ticket_id, kind") == before
    assert desk.recorder.max_notification_id() == position
