"""``tickets policies DESK``: the rules each desk's file states, as people and programs read them."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from tickets.application.policy_files import load_desk
from tickets.domain.catalogue import Catalogue
from tickets.policy_view import describe_catalogue


def test_the_text_says_what_the_scheduler_does_who_gets_targets_and_where_tickets_start(
    catalogue: Catalogue,
) -> None:
    text = describe_catalogue(catalogue, "zoom", as_json=False)
    lines = text.splitlines()
    assert ("  plan premier: opened by admin, licensed_member; scheduler never escalates: risks "
            "and breaches are shown for a person to act on") in lines
    assert ("  plan premier-plus: opened by admin, licensed_member; scheduler escalates at risk "
            "and at breach") in lines
    assert lines.count("    targets for admin only") == 2
    assert lines.count("    admin starts at level_2") == 2
    assert ("  calendar office: Europe/Amsterdam, holidays NL except Good Friday, dates pinned "
            "for 2024-2027") in lines


def test_the_text_shows_each_categorys_calendar(catalogue: Catalogue) -> None:
    lines = describe_catalogue(catalogue, "vianet", as_json=False).splitlines()
    assert "  category billing: at most B, targets on calendar beijing-office" in lines
    assert "  category presales: at most B, targets on calendar local-office" in lines
    assert "  category technical" in lines


def test_the_json_carries_the_new_keys(catalogue: Catalogue) -> None:
    [zoom] = describe_catalogue(catalogue, "zoom", as_json=True)
    premier = zoom["plans"]["premier"]
    assert (premier["auto_escalation"], premier["targets_for"], premier["starting_level"]) == (
        False, ["admin"], {"admin": "level_2"})
    assert zoom["plans"]["access"]["targets_for"] is None
    office = zoom["calendars"]["office"]
    assert (office["open_on"], office["pinned_years"]) == (["Good Friday"], [2024, 2025, 2026, 2027])
    [vianet] = describe_catalogue(catalogue, "vianet", as_json=True)
    assert vianet["categories"]["billing"] == {"max_severity": "B", "calendar": "beijing-office"}


def test_a_plans_calendar_per_category_is_shown(tmp_path: Path) -> None:
    text = resources.files("domain").joinpath("policies", "vianet.toml").read_text("utf-8")
    path = tmp_path / "vianet.toml"
    path.write_text(text.replace('who_may_open = ["admin"]\ndefault_severity = "C"',
                                 'who_may_open = ["admin"]\ndefault_severity = "C"\n'
                                 'category_calendars = { billing = "always" }', 1), "utf-8")
    catalogue = Catalogue([load_desk(path)])
    assert "    billing targets on calendar always" in describe_catalogue(
        catalogue, "vianet", as_json=False).splitlines()
    [vianet] = describe_catalogue(catalogue, "vianet", as_json=True)
    assert vianet["plans"]["standard"]["category_calendars"] == {"billing": "always"}
    assert vianet["plans"]["special-agreement"]["category_calendars"] == {}


def test_a_desk_shows_its_current_version_and_lists_the_superseded_ones(catalogue: Catalogue) -> None:
    head, *rest = describe_catalogue(catalogue, "nl-vendor", as_json=False).splitlines()
    assert "(v2, " in head and head.endswith("policies/nl-vendor.toml)")
    [superseded] = [line for line in rest if "superseded" in line]
    assert superseded.startswith("  superseded v1 (") and "superseded/nl-vendor-v1.toml" in superseded
    [shown] = describe_catalogue(catalogue, "nl-vendor", as_json=True)
    assert shown["version"] == 2
    assert [old["version"] for old in shown["superseded"]] == [1]
    [o365] = describe_catalogue(catalogue, "o365", as_json=True)
    assert o365["superseded"] == []
    assert "superseded" not in describe_catalogue(catalogue, "o365", as_json=False)
