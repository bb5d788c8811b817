"""Rules for values that arrive as text from outside: command-line options and environment variables.

Each rule parses a value or raises ``RuleError`` saying, in words, what it accepts ("a whole number
from 1 to 1440"); the callers add the name (``--step``, ``TICKETS_KAFKA_SESSION_TIMEOUT_MS``):
``tickets.cli_types`` for argparse, ``tickets.config`` for the settings.

Text from ``argv`` or the environment that is not valid UTF-8 reaches Python as lone surrogates
(``$'bad\\xffbyte'`` becomes ``'bad\\udcffbyte'``), which fail later when written to a database or
a terminal; ``valid_text`` refuses them at the edge.
"""

from __future__ import annotations

from dataclasses import dataclass


class RuleError(ValueError):
    """A value broke its rule: ``rule`` for machines, ``message`` for people (without the name)."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


def valid_text(text: str) -> str:
    """``text`` if it is valid Unicode text without NUL characters."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise RuleError("valid_text", f"must be valid UTF-8 text (an undecodable byte at position "
                                      f"{error.start})") from None
    if "\x00" in text:
        raise RuleError("valid_text", "must not contain a NUL character")
    return text


def non_empty_text(text: str) -> str:
    """``text`` if it is valid text with something besides white space."""
    if not valid_text(text).strip():
        raise RuleError("non_empty", "must not be empty")
    return text


@dataclass(frozen=True)
class Number:
    """A whole (``kind=int``) or decimal (``kind=float``) number from ``low`` to ``high``."""

    kind: type[int] | type[float]
    low: int | float
    high: int | float
    unit: str = ""

    def describe(self) -> str:
        what = "a whole number" if self.kind is int else "a number"
        unit = f" {self.unit}" if self.unit else ""
        return f"{what} from {_shown(self.low)} to {_shown(self.high)}{unit}"

    def parse(self, text: str) -> int | float:
        cleaned = valid_text(text).strip()
        try:
            value = self.kind(cleaned)
        except ValueError:
            raise RuleError("number", f"must be {self.describe()}, got {text!r}") from None
        if not self.low <= value <= self.high:  # NaN fails both comparisons
            raise RuleError("range", f"must be {self.describe()}, got {text!r}")
        return value

    def parse_int(self, text: str) -> int:
        return int(self.parse(text))

    def parse_float(self, text: str) -> float:
        return float(self.parse(text))


def _shown(value: int | float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


@dataclass(frozen=True)
class OneOf:
    """One of ``values``, compared without regard to case; the canonical spelling is returned."""

    values: tuple[str, ...]

    def describe(self) -> str:
        return "one of " + ", ".join(self.values)

    def parse(self, text: str) -> str:
        wanted = valid_text(text).strip().casefold()
        for value in self.values:
            if value.casefold() == wanted:
                return value
        raise RuleError("one_of", f"must be {self.describe()}, got {text!r}")
