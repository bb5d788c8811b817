"""Read API throughput and latency over 100,000 tickets, on a real uvicorn server on 127.0.0.1.

Builds the read models first, in a SQLite file: ``--real`` tickets (2,000) opened through an
in-memory ``TicketDesk`` across the five seed desks over four weeks (most answered and closed,
some breached, some still running) and fed by ``EmbeddedFeed`` into the dashboard and audit-trail
projections; then copies of them up to ``--tickets`` (100,000), each under a new number and moved
by one of eight offsets up to three days, whose rows the dashboard projection's own code derives
(``dashboard_row``, its counters). Then serves them with ``start_http`` in this process, as the
engine does, and drives it with ``wrk`` (Debian's, installed when missing; or ``--client httpx``:
threads in a separate process), ``--connections`` requests at a time, for ``--seconds`` per
scenario (see ``http_load``):

- dashboard figures (``GET /api/dashboard``): requests without an ETag (the body built once per
  read-model change or minute, then kept) and polls with ``If-None-Match`` (304); beside them, the
  time to count the figures afresh, as happens once per change or minute;
- a filtered ticket list (``GET /api/tickets``: by desk, status, severity or SLA state, 45 to 55 a
  page, with a parameter the API ignores so that no two URLs repeat and every request runs its
  query), the first page and the pages after it by cursor.

Prints requests per second, p50 and p99 latency per scenario, and the server's CPU time per
request (its whole process, all threads: the figure that does not depend on what else the machine
runs); ``--json`` for machines. Stops by itself. Run: ``python benchmarks/bench_http.py``
(``--tickets 20000`` for a quick look; ``--read-models FILE`` keeps the built read models in FILE
and reuses them on the next run).

``--serve`` measures ``tickets serve`` instead, on PostgreSQL read models, while the consumer
group applies ``--rate`` commands a second beside it, and the time from the group's commit to a
stream subscriber (see ``serve_load``).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import sys
import tempfile
import time
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from http_load import with_httpx, with_wrk, wrk  # beside this script
from serve_load import add_arguments as add_serve_arguments
from serve_load import main_serve

from tickets.application.clock import VirtualClock
from tickets.application.desk import TicketDesk
from tickets.application.policy_files import load_catalogue
from tickets.consumers.feed import EmbeddedFeed
from tickets.consumers.store_reader import StoreReader
from tickets.demo_profiles import opening, web_editors
from tickets.domain.actor import Actor
from tickets.domain.errors import EntitlementError
from tickets.domain.facts import TicketFacts
from tickets.domain.numbers import ALPHABET, ticket_id_for
from tickets.domain.scope import EVERY_DESK
from tickets.http import create_app, make_context, start_http
from tickets.logs import configure_logging
from tickets.projections.audit_entry import COLUMNS as AUDIT_COLUMNS
from tickets.projections.audit_trail import AuditTrailProjection
from tickets.projections.dashboard import DashboardProjection, figures
from tickets.projections.dashboard_state import ROW_COLUMNS, DashboardRow, dashboard_row
from tickets.projections.facts_state import dump_facts, load_facts
from tickets.projections.readstore import ReadStore

START = datetime(2026, 2, 2, 8, 0, tzinfo=UTC)
SPAN = timedelta(days=28)
SERVICE = Actor("service", "bench")
AGENT = Actor("agent", "a-1")


def _template_tickets(store: ReadStore, real: int, now: datetime) -> TicketDesk:
    """``real`` tickets through the desk, fed by ``EmbeddedFeed`` into the read models."""
    catalogue = load_catalogue()
    desk = TicketDesk(catalogue, clock=VirtualClock(now),
                      env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, rng=random.Random(3))
    for site, editor in web_editors():
        desk.add_editor("web", site, editor)
    rng = random.Random(5)
    step = SPAN / real
    for i in range(real):
        o = opening(rng, i)
        opened = START + step * i
        try:
            number = desk.open(desk=o.desk, plan=o.plan, category=o.category, severity=o.severity,
                               requester=o.requester, requester_role=o.role, title=o.title,
                               fields=o.fields, actor=SERVICE, at=opened).number
        except EntitlementError:  # the profile can draw what a policy refuses (presales A)
            continue
        fate = rng.random()
        answered = opened + timedelta(minutes=rng.choice((5, 20, 45, 90, 300, 1500)))
        if fate < 0.85 and answered < now:  # answered within minutes to a day; most then closed
            desk.respond(number, actor=AGENT, at=answered)
            if fate < 0.75 and answered + timedelta(hours=1) < now:
                desk.close_ticket(number, "resolved", actor=AGENT, at=answered + timedelta(hours=1))
    feed = EmbeddedFeed(StoreReader(desk), store,
                        [DashboardProjection(catalogue), AuditTrailProjection()], batch_size=5000)
    feed.catch_up()
    return desk


#: Copies move by one of these (minutes): eight SLA computations per real ticket, not one per copy.
OFFSETS = (-4320, -2880, -1500, -720, -240, -60, -15, 30)


def _shifted(facts: TicketFacts, by: timedelta) -> TicketFacts:
    """The same ticket life, ``by`` earlier or later."""
    def move(value: Any) -> Any:
        if isinstance(value, datetime):
            return value + by
        if isinstance(value, tuple):
            return tuple(move(v) for v in value)
        return value

    return replace(facts, **{f.name: move(getattr(facts, f.name)) for f in fields(facts)})


def _replicas(store: ReadStore, desk: TicketDesk, copies: int, rng: random.Random) -> None:
    """Copies of the real tickets' rows, each moved in time, derived by the projection's own code."""
    templates = [(load_facts(text), {c: v for c, v in zip(AUDIT_COLUMNS, row, strict=True)})
                 for text, *row in store.read(
                     f"SELECT f.facts, {', '.join('a.' + c for c in AUDIT_COLUMNS)} FROM dashboard_facts f "
                     "JOIN audit_trail a ON a.ticket_id = f.ticket_id AND a.version = 1")]
    taken = {number for (number,) in store.read("SELECT number FROM audit_trail WHERE version = 1")}
    moved: dict[tuple[int, int], tuple[TicketFacts, DashboardRow]] = {}
    made = serial = 0
    while made < copies:
        facts_rows, ticket_rows, audit_rows, new_rows = [], [], [], []
        for index, (facts, opened) in enumerate(templates[: copies - made]):
            number = ""
            while not number or number in taken:
                serial += 1
                number = f"{facts.number.split('-')[0]}-{ALPHABET[serial % 32]}{serial // 32:05X}"
            offset = rng.choice(OFFSETS)
            if (index, offset) not in moved:
                later = _shifted(facts, timedelta(minutes=offset))
                moved[(index, offset)] = later, dashboard_row(later, desk.catalogue.desk(later.desk))
            later, row = moved[(index, offset)]
            ticket_id = ticket_id_for(number)
            copy = replace(row, ticket_id=str(ticket_id))
            renamed = replace(later, ticket_id=ticket_id, number=number)
            facts_rows.append((copy.ticket_id, dump_facts(renamed)))
            ticket_rows.append(copy.values())
            new_rows.append(copy)
            audit_rows.append(tuple({**opened, "ticket_id": copy.ticket_id, "number": number}[c]
                                    for c in AUDIT_COLUMNS))
            made += 1
        with store.transaction() as tx:
            tx.executemany("INSERT INTO dashboard_facts (ticket_id, facts) VALUES (?, ?)", facts_rows)
            tx.executemany(f"INSERT INTO dashboard_tickets ({', '.join(ROW_COLUMNS)}) "
                           f"VALUES ({', '.join('?' * len(ROW_COLUMNS))})", ticket_rows)
            tx.executemany(f"INSERT INTO audit_trail ({', '.join(AUDIT_COLUMNS)}) "
                           f"VALUES ({', '.join('?' * len(AUDIT_COLUMNS))})", audit_rows)
            counts = DashboardProjection(desk.catalogue).counts  # the projection's own counters
            assert counts is not None
            for statement, rows in counts.moves([tuple(row.values()) for row in new_rows], ()):
                tx.executemany(statement, rows)


def build_read_models(path: Path, tickets: int, real: int) -> tuple[TicketDesk, ReadStore, VirtualClock]:
    """``real`` tickets through the desk and the feed, the rest copies of their rows.

    A file already at ``path`` is used as it is (the desk is then empty: the read API does not
    read it, only the catalogue).
    """
    now = START + SPAN + timedelta(hours=2)
    if path.exists():
        desk = TicketDesk(load_catalogue(), clock=VirtualClock(now),
                          env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
        return desk, ReadStore(f"sqlite:///{path}"), VirtualClock(now)
    store = ReadStore(f"sqlite:///{path}")
    began = time.perf_counter()
    desk = _template_tickets(store, min(real, tickets), now)
    print(f"  {min(real, tickets)} tickets through the desk and the feed in "
          f"{time.perf_counter() - began:.0f} s", file=sys.stderr)
    began = time.perf_counter()
    _replicas(store, desk, tickets - min(real, tickets), random.Random(9))
    print(f"  {tickets - min(real, tickets)} more as moved copies in {time.perf_counter() - began:.0f} s",
          file=sys.stderr)
    return desk, store, VirtualClock(now)


def measure(url: str, token: str, scenario: str, seconds: float, connections: int,
            binary: str | None) -> dict[str, Any]:
    """One scenario from a client process; the server (this process) counts its own CPU time."""
    import httpx

    etag = httpx.get(f"{url}/api/dashboard", headers={"Authorization": f"Bearer {token}"}).headers["etag"]
    cpu = time.process_time()
    if binary is not None:
        run = with_wrk(binary, url, token, etag, scenario, seconds, connections)
    else:
        run = with_httpx(url, token, etag, scenario, seconds, connections)
    cpu = time.process_time() - cpu
    requests = max(1, run["requests"])
    return {
        "scenario": scenario, "requests": run["requests"], "seconds": round(run["seconds"], 2),
        "requests_per_second": round(run["requests"] / run["seconds"], 1),
        "p50_ms": round(run["p50_ms"], 2), "p99_ms": round(run["p99_ms"], 2),
        "max_ms": round(run["max_ms"], 2), "errors": run["errors"],
        "server_cpu_ms_per_request": round(cpu * 1000 / requests, 3),
        "client_cpu_ms_per_request": round(run["client_cpu_s"] * 1000 / requests, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--real", type=int, default=2_000,
                        help="tickets through the desk and the feed; the rest are moved copies")
    parser.add_argument("--seconds", type=float, default=8.0, help="per scenario")
    parser.add_argument("--connections", type=int, default=4, help="concurrent requests")
    parser.add_argument("--client", choices=["wrk", "httpx"], default="wrk",
                        help="wrk (installed from Debian when missing) or httpx threads")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--read-models", type=Path, help="keep (or reuse) the read models in this file")
    add_serve_arguments(parser)
    args = parser.parse_args()
    configure_logging("json", logging.WARNING)  # as in production: no line per request
    binary = wrk() if args.client == "wrk" else None
    if args.client == "wrk" and binary is None:
        print("wrk is not available: using httpx threads", file=sys.stderr)
    if args.serve:  # tickets serve on PostgreSQL beside the consumer group (``serve_load``)
        main_serve(args, binary)
        return
    with tempfile.TemporaryDirectory() as folder:
        path = args.read_models or Path(folder) / "read_models.sqlite3"
        print(f"read models for {args.tickets} tickets in {path} ...", file=sys.stderr)
        desk, store, clock = build_read_models(path, args.tickets, args.real)
        ctx = make_context(desk, store, clock)
        token = ctx.tokens.create(f"bench-{time.time_ns()}", "dashboard", EVERY_DESK)
        handle = start_http(create_app(ctx), "127.0.0.1", 0)
        counted = []
        for _ in range(5):
            began = time.perf_counter()
            figures(store, clock.now())
            counted.append((time.perf_counter() - began) * 1000)
        try:
            results = [measure(handle.url, token, scenario, args.seconds, args.connections, binary)
                       for scenario in ("dashboard", "dashboard_304", "list_first_page", "list_next_pages")]
        finally:
            handle.stop()
            store.close()
    report = {"tickets": args.tickets, "connections": args.connections,
              "client": "wrk" if binary else "httpx", "results": results,
              "figures_count_ms": round(statistics.median(counted), 1)}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{args.tickets} tickets, {report['client']} with {args.connections} connections, "
          f"{args.seconds:g} s per scenario; "
          f"counting the figures afresh: {report['figures_count_ms']} ms")
    print(f"{'scenario':<18} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
          f"{'server cpu ms/req':>18} {'errors':>7}")
    for r in results:
        print(f"{r['scenario']:<18} {r['requests_per_second']:>8} {r['p50_ms']:>8} {r['p99_ms']:>8} "
              f"{r['max_ms']:>8} {r['server_cpu_ms_per_request']:>18} {r['errors']:>7}")


if __name__ == "__main__":
    main()
