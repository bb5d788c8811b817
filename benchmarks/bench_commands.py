"""Commands per second through ``TicketDesk``, on the in-memory store and on a SQLite file.

Each ticket gets the commands of a typical life: open, assign, respond, request info, customer
reply, close (6 commands, each a load-check-record-save). Run: ``python benchmarks/bench_commands.py``.

``--sealed``: every opening carries a contact name, e-mail and phone, and the SQLite run is made
twice in the same process, without a key table and with one (each requester's values sealed
under a key of their own, created at their first ticket), alternating rounds of ``--rounds``.
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
from tickets.domain.personal import SubjectKeys
from tickets.privacy.keys import KeyTable

AGENT = Actor("agent", "a-1")
SERVICE = Actor("service", "bench")
COMMANDS_PER_TICKET = 6


def contact(i: int) -> dict[str, str]:
    return {"contact_name": f"Requester Number {i}", "contact_email": f"requester{i}@example.org",
            "contact_phone": f"+31 20 555 {i:04d}"}


def life(desk: TicketDesk, i: int, start: datetime, fields: dict[str, str] | None = None) -> None:
    t = start + timedelta(minutes=i)
    customer = Actor("customer", f"c-{i}")
    n = desk.open(
        fields=fields,
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


def measure(env: dict[str, str], tickets: int, *, keys: SubjectKeys | None = None,
            personal: bool = False) -> float:
    start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    desk = TicketDesk(
        load_catalogue(), clock=VirtualClock(datetime(2026, 11, 1, tzinfo=UTC)), env=env,
        rng=random.Random(1), keys=keys,
    )
    life(desk, -1, start - timedelta(days=1), contact(-1) if personal else None)  # warm-up
    began = time.perf_counter()
    for i in range(tickets):
        life(desk, i, start, contact(i) if personal else None)
    elapsed = time.perf_counter() - began
    desk.close()
    return tickets * COMMANDS_PER_TICKET / elapsed


def sealed_or_not(tickets: int, rounds: int) -> dict[str, float]:
    """Best of ``rounds`` alternating runs on fresh SQLite files, without and with sealing."""
    best = {"sqlite_plain": 0.0, "sqlite_sealed": 0.0}
    for _round in range(rounds):
        for name in best:
            with tempfile.TemporaryDirectory() as tmp:
                env = persistence_env(f"sqlite:///{Path(tmp) / 'events.sqlite3'}")
                keys = KeyTable(Path(tmp) / "keys.sqlite3") if name == "sqlite_sealed" else None
                best[name] = max(best[name], measure(env, tickets, keys=keys, personal=True))
    best["sealed_vs_plain"] = best["sqlite_sealed"] / best["sqlite_plain"]
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--sealed", action="store_true",
                        help="compare sealing personal fields with not sealing them, same run")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.sealed:
        figures = sealed_or_not(args.tickets, args.rounds)
        print(json.dumps({k: round(v, 3) if k == "sealed_vs_plain" else round(v)
                          for k, v in figures.items()}))
        return
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
