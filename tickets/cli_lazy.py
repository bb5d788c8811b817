"""Command handlers named by where they live, imported only when their command runs.

Building the ``tickets`` parser imports argparse and the option types alone; the modules that
hold a command's work (the desk, Kafka, the projections, the web framework) load when that
command is the one run, so ``tickets --help`` and ``tickets show`` do not pay for the others.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable, MutableMapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tickets.config import Settings

Handler = Callable[[argparse.Namespace, "Settings"], Any]
#: ``add(name, help)``: a command's sub-parser, with ``--home`` and ``--json``.
AddParser = Callable[..., argparse.ArgumentParser]
Handlers = MutableMapping[str, Handler]


class Lazy:
    """The handler ``function`` of ``module``, looked up when called (so tests may patch it)."""

    def __init__(self, module: str, function: str) -> None:
        self.module = module
        self.function = function

    def __call__(self, args: argparse.Namespace, settings: Settings) -> Any:
        handler: Handler = getattr(importlib.import_module(self.module), self.function)
        return handler(args, settings)

    def __repr__(self) -> str:
        return f"Lazy({self.module}:{self.function})"


def lazy(module: str, **commands: str) -> dict[str, Handler]:
    """``{command: Lazy(module, function)}`` for each ``command=function`` given."""
    return {name.replace("_", "-"): Lazy(module, fn) for name, fn in commands.items()}
