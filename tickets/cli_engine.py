"""The engine's commands for ``tickets``: run, scheduler run-once, queues, dashboard, audit, demo.

Each read command first catches the feed up, so it shows what the event store holds now. Logs go
to stderr (warnings only, except for ``run``), so ``--json`` output stays clean on stdout.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from datetime import datetime
from typing import Any

from tickets.application.clock import SystemClock, VirtualClock
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
from tickets.http.cli import http_beside
from tickets.logs import configure_logging
from tickets.projections.audit_trail import trail
from tickets.projections.dashboard import figures
from tickets.projections.escalation_queues import queues


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
        if args.show_personal:  # sealed values opened now, or [erased]
            entries = [e.opened(engine.desk.personal) for e in entries]
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
