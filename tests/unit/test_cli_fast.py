"""The command line answers at once: the parser loads no server code, handlers load when run,
``--home``/``--json`` go before or after the command, and ``policies --json`` shows calendars."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tickets import cli
from tickets.cli_lazy import Lazy

HEAVY = ("kafka", "fastapi", "uvicorn", "psycopg", "projections", "consumers", "replay",
         "starlette", "eventsourcing")


def test_building_the_parser_imports_no_server_projection_or_consumer_code() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import sys, json; import tickets.cli; tickets.cli.build_parser(); "
                               "print(json.dumps(sorted(sys.modules)))"],
        capture_output=True, text=True, check=True)
    loaded = json.loads(done.stdout)
    assert "tickets.cli" in loaded
    assert [m for m in loaded if m.split(".")[0] in HEAVY] == []


def test_every_command_names_a_handler_that_exists() -> None:
    cli.build_parser()
    for name, handler in cli._COMMANDS.items():
        assert isinstance(handler, Lazy), name
        assert callable(getattr(importlib.import_module(handler.module), handler.function)), name


def test_token_and_replay_roles_are_the_same_list() -> None:
    from tickets.http.roles import ROLES
    from tickets.http.tokens import ROLES as TOKEN_ROLES
    from tickets.replay.personal import ROLES as CALLER_ROLES

    assert ROLES == CALLER_ROLES == TOKEN_ROLES


def parsed(argv: list[str]) -> argparse.Namespace:
    return cli.build_parser().parse_args(argv)


@pytest.mark.parametrize("argv", [
    ["--home", "/tmp/a", "--json", "show", "T-1"],
    ["show", "T-1", "--home", "/tmp/a", "--json"],
    ["--json", "show", "--home", "/tmp/a", "T-1"],
    ["--home", "/tmp/a", "show", "T-1", "--json"],
])
def test_global_options_work_before_or_after_the_command(argv: list[str]) -> None:
    args = parsed(argv)
    assert (args.command, args.ticket, args.home, args.json) == ("show", "T-1", "/tmp/a", True)


@pytest.mark.parametrize("argv", [
    ["--home", "/tmp/a", "replay", "verify", "--json"],
    ["replay", "verify", "--home", "/tmp/a", "--json"],
    ["--json", "dlq", "list", "--home", "/tmp/a"],
    ["--home", "/tmp/a", "--json", "token", "list"],
])
def test_global_options_reach_subcommands_in_either_position(argv: list[str]) -> None:
    args = parsed(argv)
    assert (args.home, args.json) == ("/tmp/a", True)


def test_the_value_after_the_command_wins_over_the_one_before() -> None:
    args = parsed(["--home", "/tmp/before", "show", "T-1", "--home", "/tmp/after"])
    assert args.home == "/tmp/after"
    assert parsed(["--home", "/tmp/before", "replay", "verify", "--home", "/tmp/after"]).home == \
        "/tmp/after"


def test_without_global_options_the_defaults_hold() -> None:
    args = parsed(["show", "T-1"])
    assert (args.home, args.json) == (None, False)


def test_a_bad_home_before_the_command_is_refused_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["--home", "/etc/passwd", "list"]) == 1
    assert "--home" in capsys.readouterr().err


def test_home_before_the_command_is_the_store_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TICKETS_HOME", str(tmp_path / "elsewhere"))
    for variable in ("TICKETS_DATABASE_URL", "TICKETS_READ_MODEL_URL", "TICKETS_POLICY_DIRS"):
        monkeypatch.delenv(variable, raising=False)
    home = tmp_path / "home"
    assert cli.main(["--home", str(home), "--json", "open", "--desk", "o365", "--requester", "r-1",
                     "--role", "admin", "--title", "printer"]) == 0
    number = json.loads(capsys.readouterr().out)["number"]
    assert cli.main(["show", number, "--home", str(home), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["number"] == number
    assert cli.main(["--json", "show", number]) == 1  # not in TICKETS_HOME
    assert json.loads(capsys.readouterr().err)["field"] == "ticket"


def test_policies_json_shows_each_calendars_hours_holidays_and_working_day(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TICKETS_POLICY_DIRS", raising=False)
    assert cli.main(["--home", str(tmp_path), "--json", "policies", "zoom"]) == 0
    [zoom] = json.loads(capsys.readouterr().out)
    office = zoom["calendars"]["office"]
    assert office["timezone"] == "Europe/Amsterdam"
    assert office["hours"]["monday"] == [["09:00", "17:00"]]
    assert "saturday" not in office["hours"] and "sunday" not in office["hours"]
    assert office["working_day"]["length"] == "8h00m"
    dates_2026 = office["holiday_dates"]["2026"]
    assert dates_2026["2026-04-27"] == "King's Day"
    assert "2026-04-03" not in dates_2026  # Good Friday: the office is open on it
    assert office["open_on"] == ["Good Friday"]
    always = zoom["calendars"]["always"]
    assert (always["always_open"], always["hours"], always["working_day"]["length"]) == (
        True, {}, "24h00m")


def test_policies_text_shows_each_calendars_opening_hours_and_working_day(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TICKETS_POLICY_DIRS", raising=False)
    assert cli.main(["policies", "zoom", "--home", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    office = lines.index("  calendar office: Europe/Amsterdam, holidays NL except Good Friday, "
                         "dates pinned for 2024-2027")
    assert lines[office + 1] == ("    open mon 09:00-17:00, tue 09:00-17:00, wed 09:00-17:00, "
                                 "thu 09:00-17:00, fri 09:00-17:00; working day 8h00m")


def run_tickets(args: list[str], home: Path, cache: Path, *, probe: bool = False) -> str:
    """``tickets ARGS`` in a fresh process; with ``probe``, it then prints the ``holidays``,
    structlog and rich modules that process loaded, as a last line ``LOADED [...]``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TICKETS_", "KAFKA_"))}
    done = subprocess.run(
        [sys.executable, "-c",
         "import json, sys\nfrom tickets.cli import main\n"
         "probe = sys.argv.pop(1) == 'probe'\n"
         "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
         "if probe:\n    print('LOADED', json.dumps(sorted(m for m in sys.modules if "
         "m.split('.')[0] in ('holidays', 'structlog', 'rich'))))\n",
         "probe" if probe else "plain", *args],
        capture_output=True, text=True, check=True,
        env=env | {"TICKETS_HOME": str(home), "XDG_CACHE_HOME": str(cache)})
    assert done.stderr == ""
    return done.stdout


@pytest.mark.parametrize(("desk", "more"), [
    ("nl-vendor", ["--role", "user"]),
    ("vianet", ["--role", "admin", "--category", "billing"]),
    ("o365", ["--role", "admin"]),
])
def test_showing_a_ticket_whose_years_are_pinned_loads_no_holidays_nor_structlog(
    tmp_path: Path, desk: str, more: list[str]
) -> None:
    """Every year the ticket needs is pinned (2024-2027), so the holidays package is never asked
    for dates; its answers on the countries and the ``except`` names are read from the cache the
    first command filled, so no part of it is imported; nothing logs, so neither structlog nor
    rich is loaded."""
    home, cache = tmp_path / "home", tmp_path / "cache"
    opened = run_tickets(["open", "--desk", desk, "--requester", "r", "--title", "t", "--json",
                          *more], home, cache)
    number = json.loads(opened)["number"]
    shown = run_tickets(["show", number], home, cache, probe=True)
    assert number in shown
    assert shown.splitlines()[-1] == "LOADED []"


def test_logging_set_up_before_structlog_is_imported_applies_once_it_is() -> None:
    """The set-up waits for structlog's import; then level and format hold as if set up after it."""
    done = subprocess.run(
        [sys.executable, "-c",
         "import logging, sys\nfrom tickets.logs import configure_logging\n"
         "configure_logging('json', logging.WARNING)\n"
         "assert 'structlog' not in sys.modules\n"
         "import structlog\n"
         "structlog.get_logger('t').info('not_shown')\n"
         "structlog.get_logger('t').warning('shown', n=1)\n"
         "configure_logging('json', logging.INFO)\n"  # now imported: applied at once
         "structlog.get_logger('t').info('shown_too')\n"],
        capture_output=True, text=True, check=True)
    events = [json.loads(line) for line in done.stderr.splitlines()]
    assert [(e["event"], e["level"]) for e in events] == [("shown", "warning"), ("shown_too", "info")]
    assert events[0]["n"] == 1
    assert done.stdout == ""
