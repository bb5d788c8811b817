"""structlog set-up: key-value events, JSON in production, readable on a terminal.

Importing ``structlog`` imports ``rich`` wherever it is installed (its console renderer and
traceback formatting use it): 0.1-0.2 s, more than the whole of ``tickets show`` otherwise
spends. A command whose code never imports ``structlog`` logs nothing, so it should not pay for
it: :func:`configure_logging` sets structlog up at once when it is already imported, and
otherwise when it is (an import hook that runs the set-up as soon as structlog's own module has
run, before any logger can be used).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import logging
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import structlog


def _stderr_logger(*args: object) -> structlog.PrintLogger:
    """A logger on the current ``sys.stderr``, looked up when a logger is made, not at set-up
    (so a replaced stream, such as a test runner's capture, is never written to after it closed)."""
    import structlog

    return structlog.PrintLogger(file=sys.stderr)


def configure_logging(fmt: str | None = None, level: int = logging.INFO) -> None:
    """Log JSON (``fmt="json"``, or stderr not a terminal) or readable lines, from ``level`` up."""
    use_json = fmt == "json" or (fmt is None and not sys.stderr.isatty())
    _AfterImport.withdraw()
    if "structlog" in sys.modules:
        _apply(use_json, level)
    else:
        sys.meta_path.insert(0, _AfterImport(use_json, level))


def _apply(use_json: bool, level: int) -> None:
    import structlog

    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            (structlog.processors.format_exc_info if use_json
             else structlog.processors.StackInfoRenderer()),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )


class _AfterImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``structlog`` as the path finder does, and sets it up once its module has run."""

    def __init__(self, use_json: bool, level: int) -> None:
        self.use_json = use_json
        self.level = level
        self.loader: importlib.abc.Loader | None = None

    @classmethod
    def withdraw(cls) -> None:
        """Take any waiting set-up off ``sys.meta_path`` (a newer one replaces it)."""
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, cls)]

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != "structlog":
            return None
        for finder in sys.meta_path:  # whoever would find it, this one aside
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                self.loader, spec.loader = spec.loader, self
                return spec
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        assert self.loader is not None
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        assert self.loader is not None
        module.__spec__.loader = self.loader  # type: ignore[union-attr]
        module.__loader__ = self.loader
        self.loader.exec_module(module)
        self.withdraw()
        _apply(self.use_json, self.level)
