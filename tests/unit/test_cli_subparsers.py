"""Each command's parser is made when its command is looked up, and is the parser an eager
definition makes: the same options, rules, defaults and help, for every command."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from tickets import cli
from tickets.cli_subparsers import Deferred, LazySubParsers

Command = tuple[tuple[str, ...], argparse.ArgumentParser]


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[Command]:
    yield path, parser
    for group in parser._actions:
        if isinstance(group, argparse._SubParsersAction):
            for name, sub in group.choices.items():
                yield from commands(sub, (*path, name))


def described(action: argparse.Action) -> tuple[object, ...]:
    kind = argparse._SubParsersAction if isinstance(action, LazySubParsers) else type(action)
    number = getattr(action.type, "number", None)  # a rule's type is made anew for each parser
    return (kind, tuple(action.option_strings), action.dest, action.nargs, action.default,
            repr(action.type), number and number.describe(),
            None if action.choices is None else sorted(action.choices), action.required,
            action.help, action.metavar)


def eager_parser(monkeypatch: pytest.MonkeyPatch) -> argparse.ArgumentParser:
    monkeypatch.setattr(cli, "LazySubParsers", argparse._SubParsersAction)
    return cli.build_parser()


def made(parser: argparse.ArgumentParser) -> set[str]:
    """The commands whose parsers have been made (looked at without making the others)."""
    action = next(a for a in parser._actions if isinstance(a, LazySubParsers))
    return {name for name, value in dict.items(action.choices)
            if isinstance(value, argparse.ArgumentParser)}


def test_parsing_a_command_makes_that_commands_parser_alone() -> None:
    parser = cli.build_parser()
    assert made(parser) == set()
    args = parser.parse_args(["replay", "verify", "--home", "/tmp/h"])
    assert (args.command, args.replay, args.home) == ("replay", "verify", "/tmp/h")
    assert made(parser) == {"replay"}


def test_the_top_level_help_lists_every_command_without_making_one(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    parser = cli.build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["--help"])
    lazy_help = capsys.readouterr().out
    assert made(parser) == set()
    assert lazy_help == eager_parser(monkeypatch).format_help()
    assert "show        a ticket's state and SLA timeline" in lazy_help


def test_an_unknown_command_is_refused_naming_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as refused:
        cli.build_parser().parse_args(["shw", "T-1"])
    assert refused.value.code == 2
    said = capsys.readouterr().err.splitlines()[-1]
    assert said.startswith("tickets: error: argument COMMAND: invalid choice: 'shw'")
    assert "'show'" in said and "'replay'" in said


def test_every_commands_parser_is_the_one_an_eager_definition_makes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lazy = dict(commands(cli.build_parser()))
    eager = dict(commands(eager_parser(monkeypatch)))
    assert sorted(lazy) == sorted(eager)
    assert len(lazy) > 40
    for path, parser in eager.items():
        assert [described(a) for a in lazy[path]._actions] == \
            [described(a) for a in parser._actions], path
        assert lazy[path].format_help() == parser.format_help(), path
        assert [[a.dest for a in g._group_actions] for g in lazy[path]._mutually_exclusive_groups] \
            == [[a.dest for a in g._group_actions] for g in parser._mutually_exclusive_groups], path


def test_a_deferred_parser_refuses_to_be_read_before_it_is_made() -> None:
    deferred = Deferred()
    deferred.add_argument("--x")
    with pytest.raises(AttributeError, match="'prog' cannot be read now"):
        _ = deferred.prog


def test_a_command_defined_twice_is_refused() -> None:
    sub = argparse.ArgumentParser().add_subparsers(action=LazySubParsers)
    sub.add_parser("show", help="one")
    with pytest.raises(ValueError, match="'show': defined twice"):
        sub.add_parser("show", help="two")
