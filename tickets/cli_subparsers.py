"""Sub-commands whose parsers are made only when their command is the one run.

``tickets`` has some forty commands and two hundred options. Making every command's
``ArgumentParser`` and its options costs more than the rest of ``tickets --help`` (argparse looks
up its message catalogue for each parser and formats each option), and a command run needs only
its own. ``LazySubParsers`` lists every command at once (name and help, for ``--help`` and for
"invalid choice") and hands back, for each, a ``Deferred``: it keeps the calls the command's
definition makes (``add_argument``, ``add_mutually_exclusive_group``, nested sub-commands) and
makes them on the real parser when the command is looked up — by the parse, by ``tickets CMD
--help``, or by code that walks ``choices``. The parser made is the one an eager definition would
have made, call for call.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from typing import Any


class Deferred:
    """A stand-in for a parser (or a group, or a sub-commands action) that keeps the ``add_*`` and
    ``set_defaults`` calls made on it, to make them on the real object later (``replay``). Each
    call answers with a ``Deferred`` of what it returns, so chained definitions keep working."""

    def __init__(self) -> None:
        self._calls: list[tuple[str, tuple[Any, ...], dict[str, Any], Deferred]] = []

    def __getattr__(self, method: str) -> Callable[..., Deferred]:
        if not (method.startswith("add_") or method == "set_defaults"):
            raise AttributeError(f"a command's parser is made later; {method!r} cannot be read now")

        def record(*args: Any, **kwargs: Any) -> Deferred:
            result = Deferred()
            self._calls.append((method, args, kwargs, result))
            return result

        return record

    def replay(self, real: Any) -> None:
        """Make the kept calls on ``real``, in order, and on what each returned."""
        for method, args, kwargs, result in self._calls:
            result.replay(getattr(real, method)(*args, **kwargs))


class _MadeOnLookup(dict[str, Any]):
    """Command name → parser, each made from its maker when first looked up."""

    def __getitem__(self, name: str) -> Any:
        value = super().__getitem__(name)
        if isinstance(value, _Maker):
            value = value()
            super().__setitem__(name, value)
        return value

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        try:
            return self[name]
        except KeyError:
            return default

    def items(self) -> Iterator[tuple[str, Any]]:  # type: ignore[override]
        return iter([(name, self[name]) for name in self])

    def values(self) -> Iterator[Any]:  # type: ignore[override]
        return iter([self[name] for name in self])


class _Maker:
    def __init__(self, make: Callable[[], argparse.ArgumentParser]) -> None:
        self.make = make

    def __call__(self) -> argparse.ArgumentParser:
        return self.make()


class LazySubParsers(argparse._SubParsersAction):  # type: ignore[type-arg]
    """``add_subparsers(action=LazySubParsers)``: ``add_parser`` lists the command now and returns
    a ``Deferred``; the command's parser is made when it is looked up."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._name_parser_map = self.choices = _MadeOnLookup()

    def add_parser(self, name: str, **kwargs: Any) -> Any:  # type: ignore[override]
        if name in self._name_parser_map or kwargs.get("aliases"):
            raise ValueError(f"command {name!r}: defined twice, or with aliases (not supported)")
        kwargs.setdefault("prog", f"{self._prog_prefix} {name}")
        if "help" in kwargs:
            self._choices_actions.append(self._ChoicesPseudoAction(name, (), kwargs.pop("help")))
        deferred = Deferred()

        def make() -> argparse.ArgumentParser:
            parser: argparse.ArgumentParser = self._parser_class(**kwargs)
            deferred.replay(parser)
            return parser

        dict.__setitem__(self._name_parser_map, name, _Maker(make))
        return deferred
