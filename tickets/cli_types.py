"""argparse types that state their rule, and the parser that gives every text option one.

A bad value is refused while the command line is read: exit code 2 and one line naming the option
and the rule (``argument --step: must be a whole number from 1 to 1440, got '0'``), before any
store is opened. ``TicketsParser`` gives every option and positional without a type of its own
``TEXT`` (valid UTF-8, not empty), so no text option can take ``''`` as "not given" or carry
undecodable bytes further in.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from tickets.domain.errors import TicketError
from tickets.domain.times import parse_aware_time
from tickets.rules import Number, RuleError, non_empty_text

T = TypeVar("T")


class ArgType(Generic[T]):
    """An argparse ``type=``: ``parse`` the text or refuse it with the rule in words."""

    def __init__(self, name: str, parse: Callable[[str], T], number: Number | None = None) -> None:
        self.__name__ = name  # argparse names the type in some of its messages
        self.parse = parse
        self.number = number  # the range, for numbers (help texts and tests read it)

    def __call__(self, text: str) -> T:
        try:
            return self.parse(text)
        except RuleError as error:
            raise argparse.ArgumentTypeError(f"{error.message} (rule={error.rule})") from None
        except TicketError as error:
            raise argparse.ArgumentTypeError(f"{error.message} (rule={error.rule})") from None

    def __repr__(self) -> str:
        return self.__name__


def whole(low: int, high: int, unit: str = "") -> ArgType[int]:
    number = Number(int, low, high, unit)
    return ArgType(f"whole number {low}..{high}", number.parse_int, number)


def decimal(low: float, high: float, unit: str = "") -> ArgType[float]:
    number = Number(float, low, high, unit)
    return ArgType(f"number {low}..{high}", number.parse_float, number)


def positive_int(high: int, unit: str = "") -> ArgType[int]:
    """A whole number from 1 to ``high``."""
    return whole(1, high, unit)


def positive_seconds(low: float, high: float) -> ArgType[float]:
    """Seconds, from ``low`` (more than 0) to ``high``."""
    return decimal(low, high, "seconds")


#: The times the CLI takes: wide enough for any history, far enough from the calendar's ends that
#: adding an SLA target or a countdown to one cannot overflow.
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)


def _aware_time(text: str) -> datetime:
    value = parse_aware_time(non_empty_text(text), "time")
    try:
        in_range = EARLIEST <= value.astimezone(UTC) < LATEST
    except OverflowError:  # an offset that moves it past year 1 or 9999
        in_range = False
    if not in_range:
        raise RuleError("time_range", f"{text!r} must be from 1970 to 8999 (UTC)")
    return value


#: Text: valid UTF-8, not empty (the default type of every text option and positional).
TEXT: ArgType[str] = ArgType("text", non_empty_text)
#: A TCP port to listen on.
PORT: ArgType[int] = whole(1, 65_535)
#: An ISO 8601 time with a zone (``2026-04-03T15:00:00Z``, ``...+02:00``).
ISO_TIME_WITH_ZONE: ArgType[datetime] = ArgType("ISO 8601 time with a zone", _aware_time)
#: A ticket's version (they start at 1).
VERSION: ArgType[int] = positive_int(2**31 - 1)

#: The actions that take a value from the command line, and so need a type.
VALUE_ACTIONS = (None, "store", "append")


class TicketsParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose options and positionals take ``TEXT`` unless typed otherwise."""

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        if kwargs.get("action") in VALUE_ACTIONS and kwargs.get("type") is None:
            kwargs["type"] = TEXT
        return super().add_argument(*args, **with_range(kwargs))


def add_subcommands(
    group: argparse.ArgumentParser, dest: str, metavar: str,
) -> Callable[[str, str], argparse.ArgumentParser]:
    """Subcommands under ``group`` (``replay``'s tools, ``dlq``'s actions), each taking ``--home``
    and ``--json`` after its own name too; returns ``make(name, help)`` for each one."""
    common = TicketsParser(add_help=False)
    add_global_options(common, argparse.SUPPRESS)
    sub = group.add_subparsers(dest=dest, required=True, metavar=metavar)

    def make(name: str, text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], help=text, description=text)

    return make


def add_global_options(parser: argparse.ArgumentParser, default: object) -> None:
    """``--home`` and ``--json``. Before the command their defaults are ``None`` and ``False``;
    after it (``default=SUPPRESS``) they set the value only when given, so a value given after
    the command overrides one given before it, and none given leaves the earlier one."""
    parser.add_argument("--home", default=default, help="data directory (default: TICKETS_HOME)")
    parser.add_argument("--json", action="store_true", default=False if default is None else default,
                        help="machine-readable output")


def with_range(kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` with a number type's range added to the help text."""
    kind = kwargs.get("type")
    if isinstance(kind, ArgType) and kind.number is not None and kwargs.get("help") != argparse.SUPPRESS:
        rule = kind.number.describe()
        kwargs["help"] = f"{kwargs['help']}; {rule}" if kwargs.get("help") else rule
    return kwargs
