"""``tickets demo``: a simulated fortnight of a support desk on a virtual clock, seeded and reproducible.

The fortnight starts on Monday 20 April 2026, so King's Day (Monday 27 April) falls inside it and
the Dutch desks' countdowns have to step over it. Tickets open over the first week's business
hours (a few at weekends and on the holiday); ``tickets.demo_world`` plays customers and agents.
The clock moves in steps (10 minutes by default); after each step the feed catches up and the
scheduler fires what has come due, exactly as ``tickets run`` would. At the end it prints the
dashboard, the escalation queues, and the audit trail and SLA timeline of one ticket that was
closed for want of a reply across the holiday.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from collections import Counter
from dataclasses import replace
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from tqdm import tqdm

from tickets.application.clock import VirtualClock
from tickets.application.desk import TicketDesk
from tickets.config import Settings, load_settings
from tickets.demo_report import report
from tickets.demo_run import AMSTERDAM, HOLIDAY, START, DemoRun
from tickets.demo_world import World
from tickets.domain.errors import ValidationError
from tickets.engine import build_engine
from tickets.wiring import build_catalogue


def demo_home(home: str | None) -> Path:
    """A new temporary directory, or ``home`` if it is empty (or does not exist yet)."""
    if home is None:
        return Path(tempfile.mkdtemp(prefix="tickets-demo-"))
    path = Path(home).expanduser()
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise ValidationError(
            f"{path} is not an empty directory: the demo writes a fresh event store; "
            "give a new or empty --home, or none for a temporary directory",
            field="home", rule="empty_home",
        )
    path.mkdir(parents=True, exist_ok=True)
    return path


def opening_times(rng: random.Random, count: int, start: datetime = START) -> list[datetime]:
    """Business hours of the first working days (08:00-18:00 local), and a few at odd times."""
    days = [start.date() + timedelta(days=i) for i in range(9)]  # Mon 20 .. Tue 28 April
    weights = [0.08 if d.weekday() >= 5 or d == HOLIDAY else 1.0 for d in days]
    times = []
    for _ in range(count):
        day = rng.choices(days, weights=weights)[0]
        minute = rng.randrange(8 * 60, 18 * 60)
        local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=AMSTERDAM)
        times.append(local)
    return sorted(times)


def simulate(settings: Settings, *, seed: int, tickets: int, days: int, step: int,
             progress: bool = True) -> DemoRun:
    clock = VirtualClock(START)
    desk = TicketDesk(build_catalogue(settings), clock=clock, env=settings.event_store_env(),
                      rng=random.Random(seed))
    engine = build_engine(settings, clock, desk=desk, log_batches=False)
    world = World(desk, seed)
    world.register_editors()
    world.plan_openings(tickets, opening_times(random.Random(seed), tickets))
    fired: Counter[str] = Counter()
    end = START + timedelta(days=days)
    steps = int((end - START) / timedelta(minutes=step))
    for _ in tqdm(range(steps), desc="simulating", unit="step", file=sys.stderr,
                  disable=not progress, mininterval=0.5):
        now = clock.advance(timedelta(minutes=step))
        world.run_due(now)
        engine.feed.catch_up()
        for item in engine.scheduler.tick(now):
            fired[f"{item.action}:{item.outcome}"] += 1
    engine.feed.catch_up()
    return DemoRun(settings.home, seed, tickets, START, clock.now(), engine, world, fired)


def demo(args: argparse.Namespace, settings: Settings) -> Any:
    home = demo_home(args.home)
    print(f"demo data directory: {home}", file=sys.stderr)
    the_settings = replace(load_settings(environ={}, home=str(home)),
                           policy_dirs=settings.policy_dirs, log_format=settings.log_format)
    run = simulate(the_settings, seed=args.seed, tickets=args.tickets, days=args.days,
                   step=args.step, progress=True)
    try:
        return report(run, as_json=args.json)
    finally:
        run.engine.close()
