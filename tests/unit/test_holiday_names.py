"""What the ``holidays`` package says, kept per release: the same holiday names and the same
answers on countries and subdivisions as asking the package, without importing it in each
process; a bad ``except`` name, country or subdivision is refused either way."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tickets import holiday_names
from tickets.application.policy_files import load_desk, shipped_policies
from tickets.domain.calendar_days import country_holidays
from tickets.domain.calendar_validation import package_country_problem, use_country_problems
from tickets.domain.errors import PolicyError
from tickets.domain.policy_calendars import EXCEPTION_YEARS, package_holiday_names, use_holiday_names
from tickets.holiday_names import cache_file
from tickets.holiday_names import country_problem as problem_of
from tickets.holiday_names import holiday_names as names_of

NL_FILE = Path(str(shipped_policies() / "nl-vendor.toml"))


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The names kept in a directory of the test's own, and handed to the policy loader as the
    command line hands them (``tickets.wiring.build_catalogue``)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    holiday_names.forget()
    use_holiday_names(names_of)
    use_country_problems(problem_of)
    yield tmp_path
    use_holiday_names(package_holiday_names)
    use_country_problems(package_country_problem)
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


@pytest.mark.parametrize("text", [
    "not json", "[1, 2]", '{"names": {"NL/": "Good Friday"}}', '{"names": {"NL/": [1]}}',
    '{"names": [], "problems": {"NL/": 3}}', '{"NL/": ["Good Friday"]}',
])
def test_an_unreadable_or_malformed_file_is_computed_again(cache_dir: Path, text: str) -> None:
    cache_file().parent.mkdir(parents=True)
    cache_file().write_text(text, encoding="utf-8")
    assert names_of("NL", None) == from_the_package("NL")
    assert problem_of("NL", None) is None
    kept = json.loads(cache_file().read_text(encoding="utf-8"))
    assert "Good Friday" in kept["names"]["NL/"]
    assert kept["problems"]["NL/"] is None


@pytest.mark.parametrize(("country", "subdivision"), [
    ("NL", None), ("US", "CA"), ("US", "XX"), ("XX", None), ("XX", "YY"), ("DE", "BY"), ("DE", "by"),
    ("utils", None), ("HolidayBase", None), ("", None),
])
def test_the_answer_on_a_country_is_the_packages_whether_computed_or_read_back(
    cache_dir: Path, country: str, subdivision: str | None
) -> None:
    computed = problem_of(country, subdivision)
    holiday_names.forget()  # as a fresh process: the answer comes from the file
    key = f"{country}/{subdivision or ''}"
    assert key in json.loads(cache_file().read_text(encoding="utf-8"))["problems"]
    assert problem_of(country, subdivision) == computed == package_country_problem(country, subdivision)


@pytest.mark.parametrize(("spec", "key", "said", "kept"), [
    ('country = "XN"', "country", "unknown holiday country 'XN'", "XN/"),
    ('country = "NL", subdivision = "ZZ"', "subdivision", "unknown subdivision 'ZZ' of NL", "NL/ZZ"),
])
def test_an_unknown_country_or_subdivision_is_refused_with_the_answers_kept_on_disk(
    cache_dir: Path, tmp_path: Path, spec: str, key: str, said: str, kept: str
) -> None:
    load_desk(NL_FILE)  # keeps the answers on NL
    holiday_names.forget()
    policy = tmp_path / "nl.toml"
    policy.write_text(NL_FILE.read_text(encoding="utf-8").replace('country = "NL"', spec, 1),
                      encoding="utf-8")
    for _ in range(2):  # asked of the package, then read back from the file
        with pytest.raises(PolicyError) as refused:
            load_desk(policy)
        assert refused.value.key == f"calendars.office.holidays.{key}"
        assert said in str(refused.value)
        holiday_names.forget()
    assert said in json.loads(cache_file().read_text(encoding="utf-8"))["problems"][kept]


@pytest.mark.parametrize("bad", ["Good Fryday", "good friday", "Goede Vrijdag"])
def test_a_wrong_except_name_is_refused_with_the_names_kept_on_disk(
    cache_dir: Path, tmp_path: Path, bad: str
) -> None:
    load_desk(NL_FILE)  # fills the file with the Dutch names
    holiday_names.forget()
    assert "NL/" in json.loads(cache_file().read_text(encoding="utf-8"))["names"]
    policy = tmp_path / "nl.toml"
    policy.write_text(NL_FILE.read_text(encoding="utf-8").replace(
        'except = ["Good Friday"]', f'except = ["{bad}"]'), encoding="utf-8")
    with pytest.raises(PolicyError) as refused:
        load_desk(policy)
    assert refused.value.key == "calendars.office.holidays.except[0]"
    assert refused.value.file == str(policy)
