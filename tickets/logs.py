"""structlog set-up: key-value events, JSON in production, readable on a terminal."""

from __future__ import annotations

import logging
import sys

import structlog


def _stderr_logger(*args: object) -> structlog.PrintLogger:
    """A logger on the current ``sys.stderr``, looked up when a logger is made, not at set-up
    (so a replaced stream, such as a test runner's capture, is never written to after it closed)."""
    return structlog.PrintLogger(file=sys.stderr)


def configure_logging(fmt: str | None = None, level: int = logging.INFO) -> None:
    use_json = fmt == "json" or (fmt is None and not sys.stderr.isatty())
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
