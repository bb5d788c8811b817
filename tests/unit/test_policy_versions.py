"""The catalogue keeps every version of a desk: the current one for new tickets, each older one for
the tickets opened under it. How a ticket keeps its version's figures: ``test_policy_version_figures.py``."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from tests.unit.test_catalogue import BASE, write
from tickets.application.policy_files import SUPERSEDED, load_catalogue, load_desk, shipped_policies
from tickets.domain.catalogue import Catalogue
from tickets.domain.errors import PolicyError, ValidationError

RAISED = ("nl-vendor", "vianet", "web", "zoom")


def version(text: str, number: int, prefix: str = "ACM") -> str:
    return (text.replace("version = 1\nticket_prefix", f"version = {number}\nticket_prefix")
            .replace('"ACM"', f'"{prefix}"'))


def test_the_highest_version_is_current_and_each_older_one_is_kept(tmp_path: Path) -> None:
    write(tmp_path, version(BASE, 3), "acme.toml")
    write(tmp_path, BASE.replace('"1 hour"', '"2 hours"'), "acme-old.toml")
    catalogue = load_catalogue(tmp_path)
    assert catalogue.desk("acme").version == 3
    assert catalogue.desk("acme", 3) is catalogue.desk("acme")
    assert catalogue.desk("acme", 1).source.endswith("acme-old.toml")
    assert [d.version for d in catalogue.versions("acme")] == [1, 3]
    assert [(d.id, d.version) for d in catalogue.desks()] == [("acme", 3)]
    assert len(catalogue) == 1 and "acme" in catalogue


def test_a_superseded_folder_in_a_user_directory_is_read(tmp_path: Path) -> None:
    write(tmp_path, version(BASE, 2))
    (tmp_path / SUPERSEDED).mkdir()
    write(tmp_path / SUPERSEDED, BASE, "acme-v1.toml")
    catalogue = load_catalogue(extra_dirs=[tmp_path])
    assert [d.version for d in catalogue.versions("acme")] == [1, 2]
    assert catalogue.desk("acme").version == 2


def test_the_order_files_are_read_in_does_not_decide_the_current_version(tmp_path: Path) -> None:
    older = load_desk(write(tmp_path, BASE, "old.toml"))
    newer = load_desk(write(tmp_path, version(BASE, 2), "new.toml"))
    assert Catalogue([newer, older]).desk("acme") is newer
    assert Catalogue([older, newer]).desk("acme") is newer


def test_an_unknown_version_is_refused_naming_the_field_and_the_known_versions(
    tmp_path: Path,
) -> None:
    write(tmp_path, version(BASE, 2))
    write(tmp_path, BASE, "acme-v1.toml")
    catalogue = load_catalogue(tmp_path)
    for unknown in (3, 0, -1):
        with pytest.raises(ValidationError) as caught:
            catalogue.desk("acme", unknown)
        assert (caught.value.field, caught.value.rule) == ("policy_version", "known_policy_version")
        assert f"no policy version {unknown}" in caught.value.message
        assert "known versions: 1, 2" in caught.value.message


def test_an_unknown_desk_is_refused_as_a_desk_whatever_the_version(shipped: Catalogue) -> None:
    for wanted in (None, 1):
        with pytest.raises(ValidationError) as caught:
            shipped.desk("acme", wanted)
        assert (caught.value.field, caught.value.rule) == ("desk", "known_desk")
    with pytest.raises(ValidationError, match="no desk 'acme'"):
        shipped.versions("acme")


def test_two_files_with_one_id_and_version_are_refused_in_any_folders(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b" / SUPERSEDED).mkdir(parents=True)
    first = write(tmp_path / "a", version(BASE, 2))
    second = write(tmp_path / "b" / SUPERSEDED, version(BASE, 2).replace("Acme support", "Other"))
    with pytest.raises(PolicyError) as caught:
        load_catalogue(tmp_path / "a", [tmp_path / "b"])
    assert (caught.value.file, caught.value.key) == (str(second), "desk.version")
    assert str(first) in caught.value.message and "version 2" in caught.value.message


def test_an_old_versions_ticket_prefix_is_still_its_desks(tmp_path: Path) -> None:
    """Numbers given under version 1 stay the desk's: another desk may not take the prefix."""
    write(tmp_path, version(BASE, 2, prefix="ACN"))
    write(tmp_path, BASE, "acme-v1.toml")
    other = write(tmp_path, BASE.replace('id = "acme"', 'id = "zeta"'), "zeta.toml")
    with pytest.raises(PolicyError) as caught:
        load_catalogue(tmp_path)
    assert (caught.value.file, caught.value.key) == (str(other), "desk.ticket_prefix")


@pytest.fixture(scope="module")
def shipped() -> Catalogue:
    return load_catalogue()


@pytest.mark.parametrize("desk_id", RAISED)
def test_the_raised_desks_ship_their_first_version_as_superseded(
    shipped: Catalogue, desk_id: str
) -> None:
    old, current = shipped.versions(desk_id)
    assert (old.version, current.version) == (1, 2)
    assert Path(old.source).parent == Path(str(shipped_policies())) / SUPERSEDED
    assert old.ticket_prefix == current.ticket_prefix
    head = Path(old.source).read_text("utf-8").split("\n\n", 1)[0]
    assert head.startswith(f"# SUPERSEDED: version 1 of the {desk_id} desk")
    assert f"replaced by version {current.version}" in head


def test_every_superseded_file_is_older_than_its_desks_current_version(shipped: Catalogue) -> None:
    folder = Path(str(shipped_policies())) / SUPERSEDED
    files = sorted(folder.glob("*.toml"))
    assert {f.name for f in files} == {f"{d}-v1.toml" for d in RAISED}
    for file in files:
        desk = tomllib.loads(file.read_text("utf-8"))["desk"]
        assert re.fullmatch(rf"{desk['id']}-v{desk['version']}\.toml", file.name)
        assert desk["version"] < shipped.desk(desk["id"]).version


def test_the_package_data_ships_the_superseded_folder() -> None:
    text = (Path(__file__).parents[2] / "pyproject.toml").read_text("utf-8")
    package_data = tomllib.loads(text)["tool"]["setuptools"]["package-data"]["tickets.domain"]
    assert f"policies/{SUPERSEDED}/*.toml" in package_data
