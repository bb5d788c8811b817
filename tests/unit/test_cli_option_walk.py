"""Every option of every ``tickets`` command, fed bad values: one line naming it, exit 1 or 2.

The commands and their options come from the CLI's own argparse parser, so a command or option
added later is walked too. Each bad value must be refused before the command runs: the handlers
are replaced by a recorder that fails the test if any of them is reached.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import pytest

from tickets import cli
from tickets.cli_types import ISO_TIME_WITH_ZONE, TEXT, ArgType

UNDECODABLE = b"bad\xffbyte".decode("utf-8", "surrogateescape")  # what argv gives Python
BAD_TEXT = ("", "   ", UNDECODABLE)
BAD_HOMES = ("/etc/passwd", "/etc/passwd/below", "/proc/nonexistent/x")
Command = tuple[tuple[str, ...], argparse.ArgumentParser]


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[Command]:
    """Each runnable command's words (``("replay", "rebuild")``) and its parser."""
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups:
        yield path, parser
    for group in groups:
        for name, sub in group.choices.items():
            yield from commands(sub, (*path, name))


def takes_value(action: argparse.Action) -> bool:
    return action.nargs != 0 and not isinstance(action, argparse._SubParsersAction | argparse._HelpAction)


def options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if takes_value(a)]


def bad_values(action: argparse.Action) -> list[str]:
    """Values the option's declared rule refuses."""
    if action.dest == "home":
        return [*BAD_TEXT, *BAD_HOMES]
    values = list(BAD_TEXT)
    kind = action.type
    if isinstance(kind, ArgType) and kind.number is not None:
        low, high = kind.number.low, kind.number.high
        values += ["abc", "-5", str(high + 1), "9" * 30]
        values += [str(low - 1)] if kind.number.kind is int else [str(low / 2), "nan", "inf", "1e400"]
        if low > 0:
            values.append("0")
    if kind is ISO_TIME_WITH_ZONE:
        values += ["yesterday", "2026-11-16T10:00:00", "0001-01-01T00:00:00+14:00",
                   "9999-12-31T23:59:59-14:00", "1969-12-31T23:59:59Z"]
    if action.choices:
        values.append("no-such-choice")
    return values


def good_value(action: argparse.Action) -> str:
    """A value the option's rule accepts, for the options a command requires beside the one walked."""
    if action.choices:
        return str(next(iter(action.choices)))
    if action.type is ISO_TIME_WITH_ZONE:
        return "2026-04-01T10:00:00Z"
    if isinstance(action.type, ArgType) and action.type.number is not None:
        return str(action.type.number.high)
    return "WEB-AAAAAA"


def argv_for(path: tuple[str, ...], parser: argparse.ArgumentParser, action: argparse.Action,
             value: str) -> list[str]:
    """The command with ``action`` set to ``value`` and every other required argument given."""
    argv = list(path)
    for other in options(parser):
        chosen = other is action
        needed = other.required or any(
            group.required and other is group._group_actions[0] and action not in group._group_actions
            for group in parser._mutually_exclusive_groups)
        if not other.option_strings and (chosen or other.nargs != "?"):
            argv.append(value if chosen else good_value(other))
        elif other.option_strings and needed and not chosen:
            argv += [other.option_strings[0], good_value(other)]
    return [*argv, action.option_strings[0], value] if action.option_strings else argv


def names(action: argparse.Action) -> list[str]:
    return list(action.option_strings) or [action.dest, str(action.metavar)]


PARSER = cli.build_parser()
WALK = [(path, parser, action) for path, parser in commands(PARSER) for action in options(parser)]


def test_the_walk_covers_every_command_and_their_options() -> None:
    walked = {" ".join(path) for path, _, _ in WALK}
    assert {"open", "editors", "demo", "run", "replay rebuild", "replay as-of", "token",
            "publish", "intake", "health", "schedule"} <= walked
    assert len(WALK) > 100


@pytest.mark.parametrize(("path", "parser", "action"), WALK,
                         ids=[f"{' '.join(p)} {a.option_strings[:1] or a.dest}" for p, _, a in WALK])
def test_every_option_states_its_rule_as_a_type(
    path: tuple[str, ...], parser: argparse.ArgumentParser, action: argparse.Action,
) -> None:
    assert isinstance(action.type, ArgType), f"{' '.join(path)} {names(action)[0]} has no rule"
    if action.type.number is None and action.type is not ISO_TIME_WITH_ZONE:
        assert action.type is TEXT


@pytest.fixture
def reached(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[list[str]]:
    """Handlers replaced by a recorder; a clean environment with a fresh home."""
    calls: list[list[str]] = []
    monkeypatch.setattr(cli, "build_parser", lambda: PARSER)  # the same parser, built once
    for name in list(cli._COMMANDS):
        monkeypatch.setitem(cli._COMMANDS, name, lambda args, settings: calls.append([args.command]))
    for variable in ("TICKETS_DATABASE_URL", "TICKETS_READ_MODEL_URL", "KAFKA_BOOTSTRAP_SERVERS",
                     "TICKETS_POLICY_DIRS"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("TICKETS_HOME", str(tmp_path / "home"))
    return calls


@pytest.mark.parametrize(("path", "parser", "action"), WALK,
                         ids=[f"{' '.join(p)} {a.option_strings[:1] or a.dest}" for p, _, a in WALK])
def test_a_bad_value_is_one_line_naming_the_option_and_exit_1_or_2(
    path: tuple[str, ...], parser: argparse.ArgumentParser, action: argparse.Action,
    reached: list[list[str]], capsys: pytest.CaptureFixture[str],
) -> None:
    for value in bad_values(action):
        argv = argv_for(path, parser, action, value)
        try:
            code = cli.main(argv)
        except SystemExit as exit_:
            code = exit_.code  # type: ignore[assignment]
        err = capsys.readouterr().err
        assert not reached, f"accepted {argv!r}"
        assert code in (1, 2), (argv, code, err)
        assert "Traceback" not in err, argv
        last = err.strip().splitlines()[-1]
        assert any(name in last for name in names(action)), (argv, last)
        assert "rule" in last or "must" in last or "invalid choice" in last, (argv, last)
