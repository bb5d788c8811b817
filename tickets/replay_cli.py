"""``tickets replay ...``: the auditors' tools, as one command group.

``as-of`` a ticket's state and SLA clocks as of a time or version; ``export`` events with their
hash chain to JSON Lines or CSV; ``verify`` the hash chains against the audit trail (exit 1 when
broken); ``rebuild`` the projections into fresh tables, then ``--swap`` or ``--verify``;
``what-if`` a period's SLA outcomes under another policy file. See docs/replay.md.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from consumers.kafka_settings import KafkaSettings
from consumers.readstore import ReadStore
from domain.errors import TicketError, ValidationError
from replay import views
from replay.as_of import as_of
from replay.compare import compare, positions
from replay.export import Scope, export
from replay.history_guard import guard_swap
from replay.integrity import verify
from replay.personal import ROLES, may_unmask
from replay.rebuild import rebuild
from replay.swap import swap
from replay.what_if import what_if
from tickets.cli_types import ISO_TIME_WITH_ZONE, VERSION, add_subcommands, positive_int
from tickets.config import Settings
from tickets.output import dumps
from tickets.projections_registry import all_projections
from tickets.wiring import build_desk

Handler = Callable[[argparse.Namespace, Settings], Any]
AddParser = Callable[..., argparse.ArgumentParser]


class ReplayCheckFailed(TicketError):
    """A check found differences: the report went to stdout, this says so on stderr (exit 1)."""

    code = "check_failed"


def _show(args: argparse.Namespace, data: Any, text: str) -> None:
    print(dumps(data) if args.json else text, flush=True)


def cmd_as_of(args: argparse.Namespace, settings: Settings) -> Any:
    unmask = may_unmask(args.show_personal, args.role)
    result = as_of(build_desk(settings), args.ticket, at=args.at, version=args.version,
                   unmask=unmask)
    return views.as_of_json(result) if args.json else views.as_of_text(result)


def cmd_export(args: argparse.Namespace, settings: Settings) -> Any:
    unmask = may_unmask(args.show_personal, args.role)
    scope = Scope(ticket=args.ticket, desk=args.desk, since=args.since, until=args.until)
    rows = export(build_desk(settings), scope, [Path(p) for p in args.out], unmask=unmask)
    summary = {"rows": rows, "files": args.out, "personal_data": "shown" if unmask else "masked"}
    return summary if args.json else f"wrote {rows} rows to {', '.join(args.out)}"


def cmd_verify(args: argparse.Namespace, settings: Settings) -> Any:
    report = verify(build_desk(settings), ReadStore(settings.read_model_url), args.ticket)
    _show(args, views.integrity_json(report), views.integrity_text(report))
    if not report.ok:
        raise report.error()


def cmd_rebuild(args: argparse.Namespace, settings: Settings) -> Any:
    desk = build_desk(settings)
    into = args.into or f"sqlite:///{settings.home / 'read_models.rebuilt.sqlite3'}"
    if into == settings.read_model_url:
        raise ValidationError("rebuild into a fresh database, not the live read model",
                              field="into", rule="not_the_live_database")
    if args.accept_changed_history and not args.swap:
        raise ValidationError("--accept-changed-history only goes with --swap",
                              field="accept_changed_history", rule="with_swap")
    projections = all_projections(desk.catalogue)
    if args.source == "kafka" and not settings.kafka_bootstrap_servers:
        raise ValidationError("rebuilding from Kafka needs the broker's address",
                              field="KAFKA_BOOTSTRAP_SERVERS", rule="required")
    kafka = KafkaSettings.of(settings) if args.source == "kafka" else None
    done = rebuild(desk, projections, into, parts=args.parts, batch_size=args.batch,
                   progress=not args.no_progress, kafka=kafka)
    summary: dict[str, Any] = {"into": into, "events": done.events, "seconds": round(done.seconds, 3),
                               "events_per_second": round(done.rate), "complete": done.complete,
                               "position": done.position}
    if args.verify:
        diffs = compare(ReadStore(settings.read_model_url), ReadStore(into), projections)
        live = positions(ReadStore(settings.read_model_url), projections)
        summary |= {"live_positions": live, "tables": views.compare_json(diffs)}
        _show(args, summary, f"rebuilt {done.events} events into {into}; live positions {live}\n"
              + views.compare_text(diffs))
        if any(not d.same for d in diffs):
            raise ReplayCheckFailed(f"{sum(not d.same for d in diffs)} table(s) differ from the live "
                                    "read model", field="tables", rule="rebuild_equals_live")
        return None
    replaced = ""
    if args.swap:
        history = guard_swap(settings.read_model_url, into,
                             accept_changed_history=args.accept_changed_history)
        summary["history"] = history.as_json()
        if not history.kept:
            replaced = (f"; recorded history replaced on request: {history.rewritten} event(s) "
                        f"rewritten, {history.removed} removed")
        summary["kept"] = swap(into, settings.read_model_url)
        summary["live"] = settings.read_model_url
    text = (f"rebuilt {done.events} events in {done.seconds:.1f}s ({done.rate:,.0f} events/s) "
            f"into {into}" + (f"; swapped in, the old read model kept at {summary['kept']}"
                              if args.swap else "") + replaced)
    return summary if args.json else text


def cmd_what_if(args: argparse.Namespace, settings: Settings) -> Any:
    desk = build_desk(settings)
    since: datetime = args.since  # a required option
    until: datetime = args.until or desk.clock.now()
    result = what_if(desk, args.policy, since, until, plan=args.plan)
    return views.what_if_json(result) if args.json else views.what_if_text(result)


SUBCOMMANDS: dict[str, Handler] = {
    "as-of": cmd_as_of, "export": cmd_export, "verify": cmd_verify, "rebuild": cmd_rebuild,
    "what-if": cmd_what_if,
}


def cmd_replay(args: argparse.Namespace, settings: Settings) -> Any:
    return SUBCOMMANDS[args.replay](args, settings)


def _personal(p: argparse.ArgumentParser) -> None:
    p.add_argument("--show-personal", action="store_true",
                   help="show personal data unmasked (only with --role auditor)")
    p.add_argument("--role", choices=ROLES, help="the caller's role (only auditor may unmask)")


def add_replay_commands(add: AddParser, commands: dict[str, Handler]) -> None:
    """Add ``replay`` and its tools; ``add(name, help)`` makes a parser with --home and --json."""
    commands["replay"] = cmd_replay
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
