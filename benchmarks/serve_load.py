"""``bench_http --serve``: ``tickets serve`` over PostgreSQL read models of 100,000 tickets, with the
consumer group applying commands beside it.

The read models are seeded in PostgreSQL as ``bench_http`` seeds its SQLite file (tickets through
the desk and the feed, the rest moved copies whose rows the dashboard projection's own code
derives). Then the engine runs as deployed, each process on its own: ``tickets intake``,
``publish``, ``consume`` (the projections group) and one ``tickets serve``. A service sends
``--rate`` commands a second (200) on the intake topic for the whole run (ticket lives: open,
assign, respond, ...), so the group commits batches all along, each announced on
``tickets_read_model``: every batch moves the ETags, and the dashboard's body is built again.

Measured while that runs, with wrk (or httpx threads):

- the scenarios of ``bench_http`` against the ``serve`` process (requests/s, p50, p99, its CPU per
  request from ``/proc``), and PostgreSQL's CPU over the same seconds per request (all its
  processes, so it includes the group's writes at ``--rate``: compare it between runs at one rate);
- change -> subscriber: an ``/api/stream`` subscriber notes when each ``event: change`` arrives; a
  LISTEN of this process on the same channel notes when each batch's announcement arrives (the
  commit, as any listener sees it) and reads which changes it held (``consumers.change_log``); the
  difference, per change, is what the replica adds: its look, the stream, the client.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from bench_latency import Traffic, read_answers, send_steadily
from bench_support import (
    ServiceClient,
    engine_env,
    engine_processes,
    kafka_settings,
    new_prefix,
    servers,
    url_of,
)
from http_load import with_httpx, with_wrk

from tickets.application.desk import TicketDesk
from tickets.application.policy_files import load_catalogue
from tickets.config import persistence_env
from tickets.domain.scope import EVERY_DESK
from tickets.http.read_follower import ReadFollower
from tickets.http.tokens import TokenStore
from tickets.projections.readstore import READ_MODEL_CHANNEL, ReadStore

PARTITIONS = 6
SCENARIOS = ("dashboard", "dashboard_304", "list_first_page", "list_next_pages")


def seed(url: str, tickets: int, real: int) -> None:
    """The read models of ``tickets`` tickets in PostgreSQL, as ``bench_http`` builds its file."""
    from bench_http import SPAN, START, _replicas, _template_tickets

    store = ReadStore(url)
    began = time.perf_counter()
    desk = _template_tickets(store, min(real, tickets), START + SPAN + timedelta(hours=2))
    _replicas(store, desk, tickets - min(real, tickets), random.Random(9))
    with store.transaction() as tx:
        tx.execute("ANALYZE")
    print(f"  {tickets} tickets seeded in PostgreSQL in {time.perf_counter() - began:.0f} s")
    store.close()


class Stamps:
    """When each (ticket, version) was announced committed, and when it reached the subscriber."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.committed: dict[tuple[str, int], float] = {}
        self.streamed: dict[tuple[str, int], float] = {}
        self.lock = threading.Lock()

    def latencies(self) -> list[float]:
        with self.lock:
            return [self.streamed[k] - self.committed[k] for k in self.streamed if k in self.committed]


def noting_errors(target: Any, stamps: Stamps) -> Any:
    def run(*args: Any) -> None:
        try:
            target(*args)
        except Exception as error:  # reported with the figures
            stamps.errors.append(f"{target.__name__}: {type(error).__name__}: {error}")

    return run


def tree_cpu_seconds(root: int | None) -> float:
    """User and system CPU of ``root`` and every process below it (PostgreSQL: the postmaster
    and its backends), from ``/proc``; 0 when there is no such process (an external server)."""
    if root is None:
        return 0.0
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # it ended meanwhile
            continue
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        used[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    below = {root}
    changed = True  # a child's pid can be lower than its parent's: walk until nothing is added
    while changed:
        changed = False
        for pid, parent in parents.items():
            if parent in below and pid not in below:
                below.add(pid)
                changed = True
    return sum(used.get(pid, 0.0) for pid in below)


def listen_commits(url: str, group: str, topic: str, stamps: Stamps, stop: threading.Event) -> None:
    import psycopg

    store = ReadStore(url)
    follower = ReadFollower(store, group, topic)  # only its ``look``: no thread of its own
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"LISTEN {READ_MODEL_CHANNEL}")
        follower.look()
        while not stop.is_set():
            if not any(True for _ in conn.notifies(timeout=0.2, stop_after=1)):
                continue
            arrived = time.perf_counter()
            for _ in conn.notifies(timeout=0):  # every announcement waiting: one look for all
                pass
            changes = follower.look().changes
            with stamps.lock:
                for change in changes:
                    stamps.committed.setdefault((change.ticket_id, change.version), arrived)
    store.close()


def subscribe(base: str, token: str, stamps: Stamps, stop: threading.Event) -> None:
    with httpx.stream("GET", f"{base}/api/stream", headers={"Authorization": f"Bearer {token}"},
                      timeout=httpx.Timeout(10, read=None)) as response:
        event = ""
        for line in response.iter_lines():
            if stop.is_set():
                return
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "change":
                arrived = time.perf_counter()
                change = json.loads(line[6:])
                with stamps.lock:
                    stamps.streamed.setdefault((change["ticket_id"], change["version"]), arrived)


def _percentiles(samples: list[float]) -> dict[str, Any]:
    ordered = sorted(samples)
    if not ordered:
        return {"count": 0}

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

    return {"count": len(ordered), "p50_ms": at(0.5), "p99_ms": at(0.99),
            "max_ms": round(ordered[-1] * 1000, 1), "mean_ms": round(statistics.fmean(ordered) * 1000, 1)}


def _wait_for(url: str, token: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/dashboard", headers={"Authorization": f"Bearer {token}"},
                         timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"tickets serve did not answer at {url}")


def run(args: argparse.Namespace, binary: str | None) -> dict[str, Any]:
    with servers(args.external) as (database, endpoint):
        prefix = new_prefix("bench-serve")
        settings = kafka_settings(endpoint, prefix)
        topics = settings.topics
        endpoint.create_topics([topics.events, topics.intake, topics.intake_results], PARTITIONS)
        endpoint.create_topics([topics.dlq], 1)
        url = url_of(database.create_database())
        TicketDesk(load_catalogue(), env=persistence_env(url)).close()  # the store's tables, once
        print(f"read models for {args.tickets} tickets in PostgreSQL ...")
        seed(url, args.tickets, args.real)
        store = ReadStore(url)
        token = TokenStore(store).create(f"bench-{time.time_ns()}", "dashboard", EVERY_DESK)
        store.close()
        port = args.serve_port
        base = f"http://127.0.0.1:{port}"
        commands = {"intake": ["intake"], "publish": ["publish"], "consume": ["consume"],
                    "serve": ["serve", "--http-port", str(port)]}
        with tempfile.TemporaryDirectory() as home, engine_processes(
            commands, engine_env(url, endpoint, prefix, home)
        ) as processes:
            _wait_for(base, token, 90)
            stamps, stop = Stamps(), threading.Event()
            client = ServiceClient(settings)
            traffic = Traffic(watch_read_model=False)
            total = args.seconds * len(SCENARIOS) + args.warm_up + 5
            threads = [
                threading.Thread(target=noting_errors(listen_commits, stamps), args=(
                    url, prefix + "projections", topics.events, stamps, stop)),
                threading.Thread(target=noting_errors(subscribe, stamps), args=(base, token, stamps, stop),
                                 daemon=True),
                threading.Thread(target=read_answers, args=(client, traffic, stop)),
            ]
            for thread in threads:
                thread.start()
            rate: list[float] = []
            sender = threading.Thread(target=lambda: rate.append(
                send_steadily(client, traffic, args.rate, total)))
            sender.start()
            time.sleep(args.warm_up)
            with stamps.lock:  # both counts from here, so they compare
                stamps.committed.clear()
                stamps.streamed.clear()
            results = []
            for scenario in SCENARIOS:
                cpu = processes["serve"].cpu_seconds()
                database_cpu = tree_cpu_seconds(getattr(database, "pid", None))
                etag = httpx.get(f"{base}/api/dashboard",
                                 headers={"Authorization": f"Bearer {token}"}).headers["etag"]
                load = (with_wrk(binary, base, token, etag, scenario, args.seconds, args.connections)
                        if binary else
                        with_httpx(base, token, etag, scenario, args.seconds, args.connections))
                requests = max(1, load["requests"])
                results.append({
                    "scenario": scenario, "requests": load["requests"],
                    "requests_per_second": round(load["requests"] / load["seconds"], 1),
                    "p50_ms": round(load["p50_ms"], 2), "p99_ms": round(load["p99_ms"], 2),
                    "max_ms": round(load["max_ms"], 2), "errors": load["errors"],
                    "server_cpu_ms_per_request": round(
                        (processes["serve"].cpu_seconds() - cpu) * 1000 / requests, 3),
                    "database_cpu_ms_per_request": round(
                        (tree_cpu_seconds(getattr(database, "pid", None)) - database_cpu) * 1000
                        / requests, 3),
                })
            sender.join()
            time.sleep(2)
            stop.set()
            for thread in threads[:1] + threads[2:]:
                thread.join(10)
            client.close()
            applied = len(traffic.sent) - traffic.rejected
    return {"tickets": args.tickets, "connections": args.connections, "rate_sent": round(rate[0], 1),
            "commands_answered": applied, "client": "wrk" if binary else "httpx",
            "results": results, "change_to_subscriber": _percentiles(stamps.latencies()),
            "changes": {"committed": len(stamps.committed), "streamed": len(stamps.streamed)},
            "errors": stamps.errors}


def report(result: dict[str, Any], seconds: float) -> None:
    print(f"tickets serve, {result['tickets']} tickets in PostgreSQL, {result['client']} with "
          f"{result['connections']} connections, {seconds:g} s per scenario, beside the group "
          f"applying {result['rate_sent']} commands/s ({result['commands_answered']} answered)")
    print(f"{'scenario':<18} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
          f"{'server cpu ms/req':>18} {'database cpu ms/req':>20} {'errors':>7}")
    for r in result["results"]:
        print(f"{r['scenario']:<18} {r['requests_per_second']:>8} {r['p50_ms']:>8} {r['p99_ms']:>8} "
              f"{r['max_ms']:>8} {r['server_cpu_ms_per_request']:>18} "
              f"{r['database_cpu_ms_per_request']:>20} {r['errors']:>7}")
    print(f"change -> stream subscriber: {result['change_to_subscriber']} {result['changes']}")
    for error in result["errors"]:
        print(f"error: {error}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--serve", action="store_true",
                        help="measure tickets serve on PostgreSQL beside the consumer group")
    parser.add_argument("--rate", type=float, default=200.0, help="commands/s beside it (--serve)")
    parser.add_argument("--warm-up", type=float, default=5.0, help="seconds before measuring (--serve)")
    parser.add_argument("--serve-port", type=int, default=18080, help="tickets serve's port (--serve)")
    parser.add_argument("--external", action="store_true",
                        help="use TICKETS_DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS (--serve)")


def main_serve(args: argparse.Namespace, binary: str | None) -> None:
    result = run(args, binary)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        report(result, args.seconds)
