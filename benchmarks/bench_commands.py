"""Commands per second through ``TicketDesk``, on the in-memory store and on a SQLite file.

Each ticket gets the commands of a typical life: open, assign, respond, request info, customer
reply, close (6 commands, each a load-check-record-save). Run: ``python benchmarks/bench_commands.py``.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tickets.config import persistence_env
from tickets.domain.actor import Actor
from tickets.domain.catalogue import load_catalogue
from tickets.domain.clock import VirtualClock
from tickets.domain.desk import TicketDesk

AGENT = Actor("agent", "a-1")
SERVICE = Actor("service", "bench")
COMMANDS_PER_TICKET = 6


def life(desk: TicketDesk, i: int, start: datetime) -> None:
    t = start + timedelta(minutes=i)
    customer = Actor("customer", f"c-{i}")
    n = desk.open(
        desk="zoom",
        plan="premier",
        severity="P2",
        requester=customer.id,
        requester_role="admin",
        title="Meeting fails",
        actor=SERVICE,
        at=t,
    ).number
    desk.assign(n, "a-1", actor=AGENT, at=t + timedelta(seconds=10))
    desk.respond(n, actor=AGENT, at=t + timedelta(seconds=20))
    desk.request_info(n, actor=AGENT, at=t + timedelta(seconds=30))
    desk.customer_reply(n, actor=customer, at=t + timedelta(seconds=40))
    desk.close_ticket(n, "resolved", actor=AGENT, at=t + timedelta(seconds=50))


def measure(env: dict[str, str], tickets: int) -> float:
    start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    desk = TicketDesk(
        load_catalogue(), clock=VirtualClock(datetime(2026, 11, 1, tzinfo=UTC)), env=env, rng=random.Random(1)
    )
    life(desk, -1, start - timedelta(days=1))  # warm-up: imports, caches, tables
    began = time.perf_counter()
    for i in range(tickets):
        life(desk, i, start)
    elapsed = time.perf_counter() - began
    desk.close()
    return tickets * COMMANDS_PER_TICKET / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict[str, float] = {}
    results["memory"] = measure({"PERSISTENCE_MODULE": "eventsourcing.popo"}, args.tickets)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "events.sqlite3"
        results["sqlite"] = measure(
            persistence_env(f"sqlite:///{db}"), args.tickets
        )
    if args.json:
        print(json.dumps({k: round(v) for k, v in results.items()}))
        return
    for store, rate in results.items():
        print(
            f"TicketDesk commands on {store}: {rate:,.0f} commands/s "
            f"({args.tickets} tickets x {COMMANDS_PER_TICKET} commands)"
        )


if __name__ == "__main__":
    main()
