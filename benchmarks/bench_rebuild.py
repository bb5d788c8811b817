"""Rebuild rate: events per second from the event store into all four projections, beside the raw
rate of reading the notification log alone (``recorder.select_notifications`` +
``mapper.to_domain_event``) and the rate of the rebuild's own reading (``replay.log_source``: raw
SQL, fast decoding, each event sealed into its audit row), on SQLite files. The raw read runs
before and again after the rebuilds, each time in a fresh process of its own, and each rebuild's
ratio is to the mean of the two (a shared machine's speed drifts within a minute; and in this
process, once the sealed read and the rebuilds had run, the same read ran about a quarter slower:
what they left in its memory, not the machine).

The store is generated fast rather than through commands (a million events through ``TicketDesk``
would take about ten minutes): ``Ticket`` aggregates are built in memory with realistic lives
(open, assign, respond, ask and get information, sometimes an escalation, a severity change or a
reopening, close: about eight events each) across the five seed desks, and saved a few hundred
at a time, each save one step of every ticket in flight, so tickets interleave in the log as they
do on a working desk. ``--store`` keeps the generated store for the next run.

Figures are wall-clock, and CPU seconds (this process and its parts) for comparing runs on a
shared machine; the load average at the start is printed too. Bounded: ``--events`` events, one
raw read, one rebuild per ``--parts`` value.

    python benchmarks/bench_rebuild.py [--events 1000000] [--parts 1,2] [--store FILE] [--json]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tickets.application.desk import TicketDesk
from tickets.application.policy_files import load_catalogue
from tickets.config import persistence_env
from tickets.consumers.store_reader import TICKET_TOPICS
from tickets.domain.catalogue import Catalogue
from tickets.domain.numbers import ALPHABET
from tickets.domain.ticket import Ticket
from tickets.projections_registry import all_projections
from tickets.replay.log_source import LogSource
from tickets.replay.rebuild import rebuild

TARGET = 30_000
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
#: (desk, plan, category, severities, requester role) of the tickets generated, all from the seed desks.
KINDS = (
    ("o365", "enterprise", "general", ("A", "B", "C"), "admin"),
    ("o365", "elevated", "general", ("A", "B", "C"), "admin"),
    ("vianet", "special-agreement", "technical", ("A", "B", "C"), "admin"),
    ("zoom", "premier", "technical", ("P1", "P2", "P3", "P4"), "admin"),
    ("zoom", "premier-plus", "technical", ("P1", "P2", "P3"), "licensed_member"),
    ("nl-vendor", "standard", "problem", ("high", "normal", "low"), "user"),
    ("web", "standard", "general", ("normal",), "editor"),
)


def number_of(i: int) -> str:
    """Six Crockford base-32 characters, one ticket each (drawn at random, 140,000 would collide)."""
    return "".join(ALPHABET[i >> shift & 31] for shift in (25, 20, 15, 10, 5, 0))


def life(catalogue: Catalogue, rng: random.Random, i: int, opened: datetime) -> Iterator[Ticket]:
    """One ticket's life, one event per step; yields the ticket after each event."""
    desk_id, plan, category, severities, role = rng.choice(KINDS)
    desk = catalogue.desk(desk_id)
    t, severity, agent = opened, rng.choice(severities), f"a-{rng.randrange(40)}"
    fields = {"site_id": "1000", "contact_name": f"Editor {i}", "contact_email": f"e{i}@example.be"} \
        if desk_id == "web" else {}
    ticket = Ticket(occurred_at=t, actor="service:webform", channel="web",
                    number=f"{desk.ticket_prefix}-{number_of(i)}",
                    desk=desk_id, policy_version=desk.version, plan=plan, category=category,
                    severity=severity, requester=f"c-{i}", requester_role=role, title=f"Ticket {i}",
                    fields=fields)
    yield ticket

    def later() -> dict[str, Any]:
        nonlocal t
        t += timedelta(minutes=rng.randrange(5, 180))
        return {"occurred_at": t, "actor": f"agent:{agent}", "channel": "email"}

    ticket._assigned(**later(), agent=agent, level="front_line")
    yield ticket
    ticket._responded(**later())
    yield ticket
    if rng.random() < 0.7:
        ticket._info_requested(**later(), replaces=None)
        yield ticket
        ticket._customer_replied(**{**later(), "actor": f"customer:c-{i}"})
        yield ticket
    if rng.random() < 0.3 and len(severities) > 1:
        other = rng.choice([s for s in severities if s != severity])
        ticket._severity_set(**later(), severity=other, previous=severity, reason="reclassified")
        yield ticket
    if rng.random() < 0.25:
        ticket._escalated(**later(), level="level_2", previous="front_line", reason="by_hand",
                          target=None)
        yield ticket
    ticket._responded(**later())
    yield ticket
    ticket._closed(**later(), reason="resolved")
    yield ticket
    if rng.random() < 0.1:
        ticket._reopened(**later(), reason="not fixed")
        yield ticket
        ticket._closed(**later(), reason="resolved")
        yield ticket


def generate(app: TicketDesk, events: int, in_flight: int = 300, seed: int = 7) -> tuple[int, int]:
    """Write about ``events`` events, ``in_flight`` tickets at a time; return (events, tickets)."""
    rng = random.Random(seed)
    written = opened = 0
    lives: list[Iterator[Ticket]] = []
    while written < events or lives:
        while len(lives) < in_flight and written + len(lives) < events:
            lives.append(life(app.catalogue, rng, opened, START + timedelta(seconds=37 * opened)))
            opened += 1
        stepped = []
        for one in list(lives):
            ticket = next(one, None)
            if ticket is None:
                lives.remove(one)
            else:
                stepped.append(ticket)
        app.save(*stepped)
        written += len(stepped)
    return written, opened


def raw_read(app: TicketDesk, batch: int) -> tuple[int, float, float]:
    """(events, wall seconds, CPU seconds) of reading and decoding the whole log once."""
    wall, cpu = time.perf_counter(), time.process_time()
    count, start = 0, 1
    while notifications := app.recorder.select_notifications(start=start, limit=batch,
                                                             topics=TICKET_TOPICS):
        for notification in notifications:
            app.mapper.to_domain_event(notification)
        count += len(notifications)
        start = notifications[-1].id + 1
    return count, time.perf_counter() - wall, time.process_time() - cpu


def rates(events: int, wall: float, cpu: float) -> dict[str, Any]:
    return {"events_per_second": round(events / wall), "seconds": round(wall, 2),
            "events_per_cpu_second": round(events / cpu)}


def raw_read_fresh(store: Path, batch: int) -> tuple[int, float, float]:
    """``raw_read`` in a fresh process of its own (this script with ``--raw-read``)."""
    done = subprocess.run([sys.executable, __file__, "--raw-read", "--store", str(store),
                           "--batch", str(batch)], check=True, capture_output=True, text=True)
    figures = json.loads(done.stdout)
    return int(figures["events"]), float(figures["wall"]), float(figures["cpu"])


def sealed_read(app: TicketDesk, batch: int) -> tuple[int, float, float]:
    """(events, wall seconds, CPU seconds) of the rebuild's own reading of the whole log, in one
    part: raw SQL, the fast decoding, and each event sealed into its audit row (hash included)."""
    wall, cpu = time.perf_counter(), time.process_time()
    source, count, after = LogSource(app), 0, 0
    gc.disable()  # as a rebuild part does (``replay.rebuild``): the source holds every ticket's head
    try:
        while True:
            events, end = source.read(after, batch)
            if end <= after:
                break
            count, after = count + len(events), end
    finally:
        gc.enable()
    return count, time.perf_counter() - wall, time.process_time() - cpu


def timed_rebuild(app: TicketDesk, target: Path, parts: int, batch: int) -> dict[str, Any]:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    before = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    done = rebuild(app, all_projections(app.catalogue), f"sqlite:///{target}", parts=parts,
                   batch_size=batch, progress=sys.stderr.isatty())
    after = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    cpu = sum(a.ru_utime + a.ru_stime - b.ru_utime - b.ru_stime for a, b in zip(after, before,
                                                                                strict=True))
    return {"parts": parts, "events": done.events, "seconds": round(done.seconds, 2),
            "events_per_second": round(done.rate), "cpu_seconds": round(cpu, 2),
            "events_per_cpu_second": round(done.events / cpu) if cpu else None,
            "complete": done.complete, "read_back_events": done.read_back_events}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--parts", default="2", help="comma-separated part counts to time (2)")
    parser.add_argument("--batch", type=int, default=50_000, help="events per rebuild transaction")
    parser.add_argument("--store", help="event store file to keep (reused when it holds --events)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--raw-read", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.raw_read:  # one raw read of --store, in this process (see ``raw_read_fresh``)
        reader = TicketDesk(load_catalogue(), env=persistence_env(f"sqlite:///{args.store}"))
        count, wall, cpu = raw_read(reader, args.batch)
        print(json.dumps({"events": count, "wall": wall, "cpu": cpu}))
        return 0
    work = Path(tempfile.mkdtemp(prefix="bench-rebuild-"))
    store = Path(args.store) if args.store else work / "events.sqlite3"
    app = TicketDesk(load_catalogue(), env=persistence_env(f"sqlite:///{store}"))
    held = app.recorder.max_notification_id() or 0
    result: dict[str, Any] = {
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                    "load_average": [round(x, 2) for x in os.getloadavg()]},
        "target_events_per_second": TARGET,
    }
    if held < args.events:
        started = time.perf_counter()
        events, tickets = generate(app, args.events - held)
        result["generated"] = {"events": events, "tickets": tickets,
                               "seconds": round(time.perf_counter() - started, 1)}
    count, wall, cpu = raw_read_fresh(store, args.batch)
    result["events"] = count
    result["raw_read"] = rates(count, wall, cpu)
    sealed, wall, cpu = sealed_read(app, args.batch)
    result["sealed_read"] = {"events": sealed, **rates(sealed, wall, cpu)}
    result["rebuild"] = [timed_rebuild(app, work / f"rebuilt-{p}.sqlite3", int(p), args.batch)
                         for p in args.parts.split(",")]
    # The raw read again: a shared machine's speed drifts within a minute, and the rebuild's
    # ratio is to the mean of the raw rates read just before and just after it.
    count, wall, cpu = raw_read_fresh(store, args.batch)
    result["raw_read_after"] = rates(count, wall, cpu)
    raw = (result["raw_read"]["events_per_second"] + result["raw_read_after"]["events_per_second"]) / 2
    for r in result["rebuild"]:
        r["ratio_to_raw_read"] = round(r["events_per_second"] / raw, 3)
    app.close()
    shutil.rmtree(work)  # the generated store too, unless --store keeps it elsewhere
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        machine = result["machine"]
        print(f"{count:,} events on {machine['cores']} cores, load {machine['load_average']}")
        print(f"  raw read + decode : {result['raw_read']['events_per_second']:>8,} events/s "
              f"({result['raw_read']['events_per_cpu_second']:,} per CPU second), after the "
              f"rebuilds {result['raw_read_after']['events_per_second']:,} events/s")
        print(f"  read + seal (fast): {result['sealed_read']['events_per_second']:>8,} events/s "
              f"({result['sealed_read']['events_per_cpu_second']:,} per CPU second)")
        for r in result["rebuild"]:
            print(f"  rebuild, {r['parts']} part(s): {r['events_per_second']:>8,} events/s "
                  f"({r['events_per_cpu_second']:,} per CPU second, {r['seconds']} s; target {TARGET:,}); "
                  f"{r['ratio_to_raw_read']} of the raw read's mean rate")
    return 0


if __name__ == "__main__":
    sys.exit(main())
