"""The holiday names kept per ``holidays`` release: the same check as asking the package, without
importing every country in each process; a bad ``except`` name is refused either way."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tickets import holiday_names
from tickets.application.policy_files import load_desk, shipped_policies
from tickets.domain.calendar_days import country_holidays
from tickets.domain.errors import PolicyError
from tickets.domain.policy_calendars import EXCEPTION_YEARS, package_holiday_names, use_holiday_names
from tickets.holiday_names import cache_file
from tickets.holiday_names import holiday_names as names_of

NL_FILE = Path(str(shipped_policies() / "nl-vendor.toml"))


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The names kept in a directory of the test's own, and handed to the policy loader as the
    command line hands them (``tickets.wiring.build_catalogue``)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    holiday_names.forget()
    use_holiday_names(names_of)
    yield tmp_path
    use_holiday_names(package_holiday_names)
    holiday_names.forget()


def from_the_package(country: str, subdivision: str | None = None) -> set[str]:
    return {name for year in EXCEPTION_YEARS
            for name in country_holidays(country, subdivision, year).values()}


@pytest.mark.parametrize(("country", "subdivision"), [("NL", None), ("BE", None), ("US", "CA")])
def test_the_names_are_the_packages_whether_computed_or_read_back(
    cache_dir: Path, country: str, subdivision: str | None
) -> None:
    computed = names_of(country, subdivision)
    holiday_names.forget()  # as a fresh process: the names come from the file
    assert cache_file().is_file()
    assert names_of(country, subdivision) == computed == from_the_package(country, subdivision)


def test_the_file_is_named_for_the_package_release(cache_dir: Path) -> None:
    import holidays

    names_of("NL", None)
    assert cache_file().parent == cache_dir / "tickets-engine"
    assert holidays.__version__ in cache_file().name


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '{"NL/": "Good Friday"}', '{"NL/": [1]}'])
def test_an_unreadable_or_malformed_file_is_computed_again(cache_dir: Path, text: str) -> None:
    cache_file().parent.mkdir(parents=True)
    cache_file().write_text(text, encoding="utf-8")
    assert names_of("NL", None) == from_the_package("NL")
    assert "Good Friday" in json.loads(cache_file().read_text(encoding="utf-8"))["NL/"]


def test_a_cache_directory_that_cannot_be_written_only_costs_the_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # a file where a directory should be
    holiday_names.forget()
    try:
        assert names_of("BE", None) == from_the_package("BE")
    finally:
        holiday_names.forget()


@pytest.mark.parametrize("bad", ["Good Fryday", "good friday", "Goede Vrijdag"])
def test_a_wrong_except_name_is_refused_with_the_names_kept_on_disk(
    cache_dir: Path, tmp_path: Path, bad: str
) -> None:
    load_desk(NL_FILE)  # fills the file with the Dutch names
    holiday_names.forget()
    assert "NL/" in json.loads(cache_file().read_text(encoding="utf-8"))
    policy = tmp_path / "nl.toml"
    policy.write_text(NL_FILE.read_text(encoding="utf-8").replace(
        'except = ["Good Friday"]', f'except = ["{bad}"]'), encoding="utf-8")
    with pytest.raises(PolicyError) as refused:
        load_desk(policy)
    assert refused.value.key == "calendars.office.holidays.except[0]"
    assert refused.value.file == str(policy)
