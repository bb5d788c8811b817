"""The engine's commands for ``tickets``: run, scheduler run-once, queues, dashboard, audit, demo.

Each read command first catches the feed up, so it shows what the event store holds now. Logs go
to stderr (warnings only, except for ``run``), so ``--json`` output stays clean on stdout.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from domain.clock import SystemClock, VirtualClock
from projections.audit_trail import trail
from projections.dashboard import figures
from projections.escalation_queues import queues
from tickets.cli_types import ISO_TIME_WITH_ZONE, positive_int, positive_seconds, whole
from tickets.collector import freeze_startup_objects
from tickets.config import Settings
from tickets.engine import Engine, build_engine, install_stop_signals, run_engine
from tickets.engine_views import (
    figures_json,
    figures_text,
    fired_json,
    fired_text,
    queues_json,
    queues_text,
    trail_json,
    trail_text,
)
from tickets.http.cli import add_run_options, http_beside
from tickets.logs import configure_logging

Handler = Callable[[argparse.Namespace, Settings], Any]
AddParser = Callable[..., argparse.ArgumentParser]


def _time(at: datetime | None) -> datetime:
    return SystemClock().now() if at is None else at


def _caught_up(settings: Settings, now: datetime) -> Engine:
    configure_logging(settings.log_format, logging.WARNING)
    engine = build_engine(settings, VirtualClock(now), log_batches=False)
    engine.catch_up()
    return engine


def cmd_run(args: argparse.Namespace, settings: Settings) -> Any:
    configure_logging(settings.log_format)
    stop = threading.Event()
    restore = install_stop_signals(stop)
    try:
        engine = build_engine(settings, SystemClock(), poll_interval=args.poll)
        freeze_startup_objects()
        with http_beside(engine, stop, args) as engine_stop:  # the HTTP API and dashboard
            run_engine(settings, engine_stop, engine.clock, poll=args.poll, engine=engine)
    finally:
        restore()
    return None


def cmd_scheduler(args: argparse.Namespace, settings: Settings) -> Any:
    now = _time(args.now)
    engine = _caught_up(settings, now)
    try:
        fired = engine.scheduler.tick(now)
        engine.catch_up()
    finally:
        engine.close()
    return fired_json(fired) if args.json else fired_text(fired)


def cmd_queues(args: argparse.Namespace, settings: Settings) -> Any:
    now = _time(args.now)
    engine = _caught_up(settings, now)
    try:
        found = queues(engine.store, now, limit_per_level=args.limit)
    finally:
        engine.close()
    return queues_json(found) if args.json else queues_text(found)


def cmd_dashboard(args: argparse.Namespace, settings: Settings) -> Any:
    now = _time(args.now)
    engine = _caught_up(settings, now)
    try:
        found = figures(engine.store, now)
    finally:
        engine.close()
    return figures_json(found) if args.json else figures_text(found)


def cmd_audit(args: argparse.Namespace, settings: Settings) -> Any:
    """A ticket's audit trail; personal fields are masked unless ``--show-personal`` is given."""
    engine = _caught_up(settings, SystemClock().now())
    try:
        ticket_id = engine.desk.get(args.ticket).id
        entries = trail(engine.store, ticket_id=ticket_id, limit=args.limit)
    finally:
        engine.close()
    if args.show_personal:
        print("showing personal data unmasked (--show-personal)", file=sys.stderr)
    else:
        entries = [e.masked() for e in entries]
    return trail_json(entries) if args.json else trail_text(entries)


def cmd_demo(args: argparse.Namespace, settings: Settings) -> Any:
    from tickets.demo import demo

    configure_logging(settings.log_format, logging.WARNING)
    return demo(args, settings)


HANDLERS: dict[str, Handler] = {
    "run": cmd_run, "scheduler": cmd_scheduler, "queues": cmd_queues, "dashboard": cmd_dashboard,
    "audit": cmd_audit, "demo": cmd_demo,
}


def add_parsers(add: AddParser) -> None:
    """Add the engine's commands; ``add(name, help)`` makes a sub-parser with --home and --json."""
    p = add("run", "run the engine: feed the projections and fire due timers until stopped")
    p.add_argument("--poll", type=positive_seconds(0.01, 60), default=0.2,
                   help="seconds between looks at the store (0.2)")
    add_run_options(p)
    p = add("scheduler", "the scheduler, once: catch the projections up and fire what is due")
    p.add_argument("action", choices=["run-once"])
    p.add_argument("--now", type=ISO_TIME_WITH_ZONE,
                   help="fire what is due at this time, on a clock set to it (default: now)")
    p = add("queues", "the escalation queues, per level")
    p.add_argument("--now", type=ISO_TIME_WITH_ZONE, help="as of this time (default: now)")
    p.add_argument("--limit", type=positive_int(100_000), default=100,
                   help="at most this many per level (100)")
    p = add("dashboard", "the dashboard figures")
    p.add_argument("--now", type=ISO_TIME_WITH_ZONE, help="as of this time (default: now)")
    p = add("audit", "a ticket's audit trail, with each entry's hash")
    p.add_argument("ticket")
    p.add_argument("--show-personal", action="store_true",
                   help="show contact details unmasked (for auditors entitled to see them)")
    p.add_argument("--limit", type=positive_int(1_000_000), default=1000,
                   help="at most this many entries (1000)")
    p = add("demo", "a simulated fortnight of a support desk on a virtual clock")
    p.add_argument("--seed", type=whole(0, 2**32 - 1), default=7, help="the random seed (7)")
    p.add_argument("--tickets", type=positive_int(100_000), default=300,
                   help="tickets to open (300)")
    p.add_argument("--days", type=positive_int(366), default=14, help="simulated days (14)")
    p.add_argument("--step", type=positive_int(1_440, "minutes"), default=10,
                   help="minutes per clock step (10)")
