"""``tickets replay ...``: the auditors' tools, as one command group.

``as-of`` a ticket's state and SLA clocks as of a time or version; ``export`` events with their
hash chain to JSON Lines or CSV; ``verify`` the hash chains against the audit trail (exit 1 when
broken); ``rebuild`` the projections into fresh tables, then ``--swap`` or ``--verify``;
``what-if`` a period's SLA outcomes under another policy file. See docs/replay.md.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
from typing import Any

from tickets.cli_lazy import Handler
from tickets.config import Settings
from tickets.consumers.kafka_settings import KafkaSettings
from tickets.domain.errors import TicketError, ValidationError
from tickets.output import dumps
from tickets.projections.readstore import ReadStore
from tickets.projections_registry import all_projections
from tickets.replay import views
from tickets.replay.as_of import as_of
from tickets.replay.compare import compare, positions
from tickets.replay.export import Scope, export
from tickets.replay.history_guard import guard_swap
from tickets.replay.integrity import verify
from tickets.replay.personal import may_unmask
from tickets.replay.rebuild import rebuild
from tickets.replay.swap import swap
from tickets.replay.what_if import what_if
from tickets.wiring import build_desk


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
    store = ReadStore(settings.read_model_url)
    try:
        report = verify(build_desk(settings), store, args.ticket)
    finally:
        store.close()  # a swap that follows needs the file to itself
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


