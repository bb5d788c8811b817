"""The intake's services file: each service and its desks, every mistake named by key and rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from tickets.config import ConfigError, intake_services, intake_services_of, load_settings
from tickets.domain.catalogue import Catalogue
from tickets.domain.scope import EVERY_DESK, DeskScope

GOOD = """
[services.webform]
desks = ["web", "zoom"]

[services.mail-gw]
all_desks = true
"""


def services_file(tmp_path: Path, text: str) -> dict[str, str]:
    path = tmp_path / "services.toml"
    path.write_text(text, encoding="utf-8")
    return {"TICKETS_INTAKE_SERVICES_FILE": str(path)}


def test_each_service_is_read_with_its_desks(tmp_path: Path, catalogue: Catalogue) -> None:
    env = services_file(tmp_path, GOOD)
    assert intake_services_of(catalogue, env) == {
        "webform": DeskScope(frozenset({"web", "zoom"})), "mail-gw": EVERY_DESK}


@pytest.mark.parametrize(("text", "rule", "said"), [
    ("[services]", "services_table", "[services.NAME]"),
    ("other = 1\n[services.webform]\ndesks = ['web']", "known_key", "'other'"),
    ("[services.webform]\ndesk = ['web']", "known_key", "services.webform: unknown key 'desk'"),
    ("[services.webform]\n", "desks_required", "services.webform.desks"),
    ("[services.webform]\ndesks = []", "desks_required", "services.webform.desks"),
    ("[services.webform]\ndesks = 'web'", "desks_required", "services.webform.desks"),
    ("[services.webform]\ndesks = ['web', 3]", "desks_required", "services.webform.desks"),
    ("[services.webform]\ndesks = ['web']\nall_desks = true", "desks_or_all_desks", "not both"),
    ("[services.webform]\nall_desks = 'yes'", "all_desks", "services.webform.all_desks"),
    ("[services.webform]\nall_desks = false", "desks_required", "services.webform.desks"),
    ('[services."web form"]\nall_desks = true', "service_id", "services.web form"),
    ("services = 3", "services_table", "[services.NAME]"),
    ("[services]\nwebform = 'web'", "service_table", "services.webform"),
    ("[services.webform\n", "toml", "is not TOML"),
])
def test_a_bad_services_file_is_refused_naming_the_key_and_the_rule(
    tmp_path: Path, text: str, rule: str, said: str,
) -> None:
    env = {"TICKETS_HOME": str(tmp_path), **services_file(tmp_path, text)}
    with pytest.raises(ConfigError) as refused:
        load_settings(env)
    assert refused.value.field == "TICKETS_INTAKE_SERVICES_FILE" and refused.value.rule == rule
    assert said in str(refused.value)


def test_a_desk_outside_the_catalogue_is_refused_when_the_intake_starts(
    tmp_path: Path, catalogue: Catalogue,
) -> None:
    env = services_file(tmp_path, "[services.webform]\ndesks = ['web', 'webb']")
    assert intake_services(env) is not None  # the shape is right
    with pytest.raises(ConfigError) as refused:
        intake_services_of(catalogue, env)
    assert refused.value.field == "TICKETS_INTAKE_SERVICES_FILE" and refused.value.rule == "known_desk"
    assert "services.webform.desks: 'webb'" in str(refused.value)


def test_the_file_and_the_older_list_are_not_set_together(tmp_path: Path) -> None:
    env = {**services_file(tmp_path, GOOD), "TICKETS_INTAKE_SERVICES": "webform"}
    with pytest.raises(ConfigError) as refused:
        intake_services(env)
    assert refused.value.rule == "one_services_setting"


def test_without_either_setting_any_service_serves_every_desk() -> None:
    assert intake_services({}) is None
    assert intake_services({"TICKETS_INTAKE_SERVICES_FILE": " "}) is None
