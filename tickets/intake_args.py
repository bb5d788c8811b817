"""The command lines of ``tickets intake`` and ``tickets health`` (their handlers are in
``tickets.intake_cli``)."""

from __future__ import annotations

from tickets.cli_lazy import AddParser, Handlers, lazy
from tickets.cli_types import positive_int, positive_seconds
from tickets.metrics_args import add_metrics_options


def add_intake_commands(add: AddParser, handlers: Handlers) -> None:
    """Register ``intake`` and ``health``: ``add(name, help)`` makes a sub-parser."""
    p = add("intake", "the intake consumer: apply commands services publish on tickets.intake")
    p.add_argument("--group", help="consumer group (default intake; the topic prefix goes first)")
    p.add_argument("--batch", type=positive_int(100_000), default=500,
                   help="records per poll, applied together (500)")
    add_metrics_options(p)
    p = add("health", "check the database(s) and the broker; exit 1 if one is unreachable")
    p.add_argument("--no-database", action="store_true", help="skip the database checks")
    p.add_argument("--no-kafka", action="store_true", help="skip the broker check")
    p.add_argument("--topics", action="store_true", help="also require the four topics to exist")
    p.add_argument("--timeout", type=positive_seconds(0.1, 600), default=5.0,
                   help="seconds per check (5)")
    handlers.update(lazy("tickets.intake_cli", intake="cmd_intake", health="cmd_health"))
