"""Frozen dataclass values built and changed without their generated ``__init__``.

A frozen dataclass's ``__init__`` sets every field through ``object.__setattr__``, a few tenths
of a microsecond each. The ticket's fold builds a ``TicketState`` (its ``TicketFacts`` has 25
fields) for every event the aggregate applies, on every command and every replay, so it writes
the new instance's ``__dict__`` at once instead. The result is the same value: same fields, same
order, equal and hashed alike; only a dataclass without ``__post_init__`` or factories qualifies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, fields, is_dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Blueprint(Generic[T]):
    """Builds ``cls`` values from keyword values, checked as its ``__init__`` checks them."""

    def __init__(self, cls: type[T]) -> None:
        if not is_dataclass(cls) or hasattr(cls, "__post_init__"):
            raise TypeError(f"{cls.__name__} must be a dataclass without __post_init__")
        declared = fields(cls)
        if any(f.default_factory is not MISSING for f in declared):
            raise TypeError(f"{cls.__name__} has a default factory; build it with its __init__")
        self.cls = cls
        #: Every field in declared order (so the built ``__dict__`` is ordered as ``__init__``'s).
        self.template: dict[str, Any] = {f.name: f.default for f in declared}
        self.required = frozenset(f.name for f in declared if f.default is MISSING)

    def build(self, **values: Any) -> T:
        if not self.required <= values.keys() or not values.keys() <= self.template.keys():
            missing = sorted(self.required - values.keys())
            unknown = sorted(values.keys() - self.template.keys())
            raise TypeError(f"{self.cls.__name__}: missing {missing}, unknown {unknown}")
        new: T = object.__new__(self.cls)
        state = new.__dict__
        state.update(self.template)
        state.update(values)
        return new


def replaced(value: T, changes: Mapping[str, Any]) -> T:
    """``dataclasses.replace`` for a value of a ``Blueprint``'s kind, the changes' names trusted."""
    new: T = object.__new__(type(value))
    state = new.__dict__
    state.update(value.__dict__)
    state.update(changes)
    return new
