"""The command lines of ``tickets dlq list`` and ``tickets dlq replay`` (their handlers are in
``tickets.dlq_cli``)."""

from __future__ import annotations

from tickets.cli_lazy import AddParser, Handlers, lazy
from tickets.cli_types import add_subcommands, positive_int, positive_seconds, whole

#: Kafka offsets are signed 64-bit numbers.
OFFSET = whole(0, 2**63 - 1)


def add_dlq_commands(add: AddParser, handlers: Handlers) -> None:
    """Add ``dlq list`` and ``dlq replay``; ``add(name, help)`` makes a parser with --home and --json."""
    handlers.update(lazy("tickets.dlq_cli", dlq="cmd_dlq"))
    group = add("dlq", "the dead letters on tickets.dlq: list them, replay them once their cause is fixed")
    action = add_subcommands(group, "dlq", "ACTION")

    p = action("list", "one line per dead letter: where, whence, group, reason, sizes (no contents)")
    p.add_argument("--group", help="only this consumer group's (the topic prefix goes first)")
    p.add_argument("--parked", action="store_true", help="only parked records")
    p.add_argument("--reason", help="only those whose reason contains this text (any case)")
    p.add_argument("--limit", type=positive_int(1_000_000), help="at most this many")
    p = action("replay", "send the originals of these dead letters again, in offset order")
    p.add_argument("--partition", type=whole(0, 1_000_000), default=0,
                   help="the tickets.dlq partition of the dead letters (0)")
    p.add_argument("--offset", type=OFFSET, action="append", required=True,
                   help="a dead letter's offset on that partition (repeat for more)")
    p.add_argument("--dry-run", action="store_true",
                   help="fetch and check each original, send nothing")
    p.add_argument("--timeout", type=positive_seconds(0.1, 600), default=10.0,
                   help="seconds to wait for each record to be read (10)")
