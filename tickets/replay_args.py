"""The command lines of ``tickets replay`` and its tools (their handlers are in
``tickets.replay_cli``)."""

from __future__ import annotations

import argparse

from tickets.cli_lazy import AddParser, Handlers, lazy
from tickets.cli_types import ISO_TIME_WITH_ZONE, VERSION, add_subcommands, positive_int
from tickets.http.roles import ROLES


def _personal(p: argparse.ArgumentParser) -> None:
    p.add_argument("--show-personal", action="store_true",
                   help="show personal data unmasked (only with --role auditor)")
    p.add_argument("--role", choices=ROLES, help="the caller's role (only auditor may unmask)")


def add_replay_commands(add: AddParser, commands: Handlers) -> None:
    """Add ``replay`` and its tools; ``add(name, help)`` makes a parser with --home and --json."""
    commands.update(lazy("tickets.replay_cli", replay="cmd_replay"))
    group = add("replay", "for auditors: history as of a moment, exports, integrity, rebuilds, what-if")
    tool = add_subcommands(group, "replay", "TOOL")

    p = tool("as-of", "a ticket's state and SLA clocks as of a time or a version, event by event")
    p.add_argument("ticket")
    when = p.add_mutually_exclusive_group(required=True)
    when.add_argument("--at", type=ISO_TIME_WITH_ZONE,
                      help="as of this time (events that occurred at or before it)")
    when.add_argument("--version", type=VERSION, help="as of this version of the ticket")
    _personal(p)
    p = tool("export", "events with their hash chain as JSON Lines or CSV (by file suffix)")
    p.add_argument("--out", action="append", required=True, metavar="FILE.jsonl|FILE.csv")
    p.add_argument("--ticket")
    p.add_argument("--desk")
    p.add_argument("--since", type=ISO_TIME_WITH_ZONE, help="occurred at or after (ISO 8601)")
    p.add_argument("--until", type=ISO_TIME_WITH_ZONE, help="occurred before (ISO 8601)")
    _personal(p)
    p = tool("verify", "check the hash chains of the store against the audit trail (exit 1: broken)")
    p.add_argument("ticket", nargs="?", help="one ticket (default: every ticket)")
    p = tool("rebuild", "rebuild the projections from the event store (or Kafka) into fresh tables")
    p.add_argument("--from", dest="source", choices=("store", "kafka"), default="store",
                   help="read the event store's log (default) or tickets.events from offset 0 "
                        "(needs KAFKA_BOOTSTRAP_SERVERS and a topic that keeps every event)")
    p.add_argument("--into", help="sqlite:///FILE or postgresql://...?options=-csearch_path%%3DSCHEMA "
                                  "(default: HOME/read_models.rebuilt.sqlite3)")
    p.add_argument("--parts", type=positive_int(64), default=2,
                   help="processes, each its share of the tickets (2)")
    p.add_argument("--batch", type=positive_int(10_000_000), default=50_000,
                   help="events per transaction (50000)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    then = p.add_mutually_exclusive_group()
    then.add_argument("--swap", action="store_true",
                      help="then replace the live read model (no feed running)")
    then.add_argument("--verify", action="store_true", help="then compare with the live read model")
    p.add_argument("--accept-changed-history", action="store_true",
                   help="with --swap: swap even when the rebuilt audit trail rewrites or drops "
                        "events the live one recorded (refused otherwise)")
    p = tool("what-if", "a period's SLA outcomes under another policy file, against the live policy")
    p.add_argument("policy", help="the policy file (TOML) to replay under")
    p.add_argument("--since", type=ISO_TIME_WITH_ZONE, required=True,
                   help="tickets opened at or after (ISO 8601)")
    p.add_argument("--until", type=ISO_TIME_WITH_ZONE,
                   help="and before; the clocks are as of then (default: now)")
    p.add_argument("--plan", help="evaluate every ticket under this plan of the policy")
