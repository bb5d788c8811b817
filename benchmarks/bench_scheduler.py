"""What a scheduler tick costs with 100,000 open SLA timers, of which 100 are due.

100 real tickets (SQLite event store) have an information request whose auto-close warning is
due; the feed puts their timers in the read store. The other timers are rows inserted straight
into ``sla_timers``, due later. Figures:

- ``tick``: a tick that reads the 100 due rows and finds them all handed out already (the steady
  state while the projection catches up): median and p99 over ``--ticks`` ticks. This is the
  scheduler's own cost, and it must not grow with the open timers: it is measured again with
  only the 100 real timers for comparison.
- ``fire``: the first tick, which sends the 100 commands (each a load, check and save in the
  event store): total and per command.

Run: ``python benchmarks/bench_scheduler.py``.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from tickets.application.clock import VirtualClock
from tickets.application.desk import TicketDesk
from tickets.application.policy_files import load_catalogue
from tickets.config import persistence_env
from tickets.consumers.feed import EmbeddedFeed
from tickets.consumers.scheduler import Scheduler
from tickets.consumers.store_reader import StoreReader
from tickets.domain.actor import Actor
from tickets.logs import configure_logging
from tickets.projections.readstore import ReadStore
from tickets.projections.sla_timer_row import COLUMNS
from tickets.projections.sla_timers import SlaTimersProjection
from tickets.wire.envelope import format_time

AGENT = Actor("agent", "a-1")
ASKED = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)  # Monday 11:00 in Amsterdam
WARN = datetime(2026, 11, 19, 10, 0, tzinfo=UTC)  # three working days later


def real_tickets(desk: TicketDesk, count: int) -> None:
    for i in range(count):
        n = desk.open(desk="nl-vendor", requester=f"c-{i}", requester_role="user", title="Export",
                      actor=Actor("service", "bench"), at=ASKED - timedelta(minutes=30)).number
        desk.respond(n, actor=AGENT, at=ASKED - timedelta(minutes=10))
        desk.request_info(n, actor=AGENT, at=ASKED)


def bulk_rows(store: ReadStore, count: int, rng: random.Random) -> None:
    """Open timers due after WARN: first response and resolution clocks of made-up tickets."""
    rows = []
    for i in range(count):
        due = WARN + timedelta(minutes=rng.randrange(60, 30 * 24 * 60))
        values = {
            "ticket_id": str(UUID(int=rng.getrandbits(128))), "kind": "first_response",
            "number": f"BLK-{i:06d}", "desk": "zoom", "plan": "premier-plus", "severity": "P3",
            "level": "front_line", "ticket_status": "new", "state": "running",
            "start_at": format_time(ASKED), "due": format_time(due), "at_risk_at": None,
            "stopped_at": None, "used_seconds": 0.0, "target_seconds": 86400.0,
            "calendar": "office", "calendar_version": 1, "policy_version": 1,
            "next_action": "escalate_breach", "next_action_at": format_time(due), "position": 0,
        }
        rows.append(tuple(values[c] for c in COLUMNS))
    with store.transaction() as tx:
        tx.executemany(f"INSERT INTO sla_timers ({', '.join(COLUMNS)}) "
                       f"VALUES ({', '.join('?' * len(COLUMNS))})", rows)


def ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * len(ordered)) - 1)]
    return {"median_ms": round(statistics.median(ordered) * 1000, 2), "p99_ms": round(p99 * 1000, 2)}


def measure(tmp: Path, open_timers: int, due: int, ticks: int) -> dict[str, Any]:
    catalogue = load_catalogue()
    clock = VirtualClock(ASKED)
    desk = TicketDesk(catalogue, clock=clock, env=persistence_env(f"sqlite:///{tmp / 'events.sqlite3'}"),
                      rng=random.Random(1))
    real_tickets(desk, due)
    store = ReadStore(f"sqlite:///{tmp / 'read.sqlite3'}")
    EmbeddedFeed(StoreReader(desk), store, [SlaTimersProjection(catalogue)]).catch_up()
    bulk_rows(store, open_timers - due, random.Random(7))
    clock.set(WARN)
    scheduler = Scheduler(desk, store, clock)
    began = time.perf_counter()
    fired = scheduler.tick(WARN)
    fire_seconds = time.perf_counter() - began
    times = []
    for _ in range(ticks):
        began = time.perf_counter()
        scheduler.tick(WARN)
        times.append(time.perf_counter() - began)
    count = store.read("SELECT COUNT(*) FROM sla_timers WHERE stopped_at IS NULL")[0][0]
    store.close()
    desk.close()
    return {"open_timers": count, "due": len(fired),
            "fired": sum(f.outcome == "fired" for f in fired),
            "fire_ms": round(fire_seconds * 1000, 1),
            "fire_ms_per_command": round(fire_seconds * 1000 / max(1, len(fired)), 2),
            "tick": ms(times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--open", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=100)
    parser.add_argument("--ticks", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    configure_logging("console", logging.WARNING)
    results = {}
    for label, open_timers in (("bulk", args.open), ("only_due", args.due)):
        with tempfile.TemporaryDirectory() as tmp:
            results[label] = measure(Path(tmp), open_timers, args.due, args.ticks)
    if args.json:
        print(json.dumps(results))
        return
    for r in results.values():
        print(f"{r['open_timers']:>7,} open timers, {r['due']} due: tick median {r['tick']['median_ms']} ms, "
              f"p99 {r['tick']['p99_ms']} ms; firing {r['fired']} commands took {r['fire_ms']} ms "
              f"({r['fire_ms_per_command']} ms each)")


if __name__ == "__main__":
    main()
