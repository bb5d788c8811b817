"""Reading a policy file's TOML: typed access to its tables, every error naming file and key.

A :class:`Table` is one TOML table being read. Its ``get`` checks the type of a value, ``expect``
refuses keys the format does not know (with a "did you mean" hint), and ``error`` builds the
:class:`PolicyError` that names the file and the dotted key.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from importlib.resources.abc import Traversable
from os import PathLike
from typing import Any, TypeVar, overload

from tickets.domain.calendar import BusinessCalendar
from tickets.domain.durations import parse_duration
from tickets.domain.errors import PolicyError

T = TypeVar("T")
D = TypeVar("D")
Location = str | PathLike[str] | Traversable

#: The default of :meth:`Table.get` for a key that must be there.
REQUIRED: Any = object()
_TOML_TYPES = {
    str: "a string", int: "an integer", float: "a number", bool: "true or false",
    dict: "a table", list: "an array", date: "a date",
}


@dataclass(frozen=True)
class Table:
    """One TOML table being read; knows its file and dotted key so that every error names both."""

    file: str
    key: str
    data: Mapping[str, object]

    def at(self, name: str) -> str:
        return f"{self.key}.{name}" if self.key else name

    def error(self, message: str, name: str | None = None) -> PolicyError:
        return PolicyError(message, file=self.file, key=self.at(name) if name else self.key or None)

    def expect(self, *allowed: str) -> None:
        """Refuse keys the format does not know: a typo must not be silently ignored."""
        for name in self.data:
            if name not in allowed:
                close = difflib.get_close_matches(name, allowed, n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"allowed: {', '.join(allowed)}"
                raise self.error(f"unknown key {name!r}; {hint}", name)

    @overload
    def get(self, name: str, kind: type[T]) -> T: ...
    @overload
    def get(self, name: str, kind: type[T], default: D) -> T | D: ...
    def get(self, name: str, kind: type[Any], default: Any = REQUIRED) -> Any:
        if name not in self.data:
            if default is REQUIRED:
                raise self.error("missing required key", name)
            return default
        value = self.data[name]
        if type(value) is not kind:
            raise self.error(f"must be {_TOML_TYPES[kind]}, not {_toml_type(value)}", name)
        return value

    def table(self, name: str) -> Table:
        return Table(self.file, self.at(name), self.get(name, dict))

    def children(
        self, name: str, pattern: re.Pattern[str], what: str, *, required: bool = True
    ) -> Iterator[Table]:
        """The named sub-tables of ``name`` (``[plans.standard]``, ...), in file order."""
        if not required and name not in self.data:
            return
        parent = self.table(name)
        if required and not parent.data:
            raise parent.error(f"define at least one {what}")
        for child in parent.data:
            if not pattern.fullmatch(child):
                raise parent.error(f"{child!r} is not a valid {what} name", child)
            yield parent.table(child)

    @property
    def name(self) -> str:
        return self.key.rsplit(".", 1)[-1]

    def names(self, name: str, pattern: re.Pattern[str]) -> tuple[str, ...]:
        values = self.get(name, list)
        for i, value in enumerate(values):
            if type(value) is not str or not pattern.fullmatch(value):
                raise self.error(f"{value!r} is not a valid name", f"{name}[{i}]")
        if not values or len(set(values)) != len(values):
            raise self.error("must list at least one name, each once", name)
        return tuple(values)

    def duration(self, name: str, calendar: BusinessCalendar | None) -> timedelta:
        try:
            return parse_duration(self.get(name, str), calendar)
        except ValueError as exc:
            raise self.error(str(exc), name) from None


def positive(table: Table, name: str, default: int) -> int:
    value = table.get(name, int, default)
    if value < 1:
        raise table.error("must be 1 or more", name)
    return value


def matching(table: Table, name: str, pattern: re.Pattern[str], rule: str) -> str:
    value = table.get(name, str)
    if not pattern.fullmatch(value):
        raise table.error(f"{value!r} is not valid: {rule}", name)
    return value


def one_of(table: Table, name: str, choices: Mapping[str, object]) -> str:
    value = table.get(name, str)
    if value not in choices:
        raise table.error(f"{value!r} is not one of: {', '.join(choices)}", name)
    return value


def _toml_type(value: object) -> str:
    return _TOML_TYPES.get(type(value), type(value).__name__)
