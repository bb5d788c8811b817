"""Commands per second through ``TicketDesk``, on the in-memory store and on a SQLite file.

Each ticket gets the commands of a typical life: open, assign, respond, request info, customer
reply, close (6 commands, each a load-check-record-save). Run: ``python benchmarks/bench_commands.py``.

``--sealed``: every opening carries a contact name, e-mail and phone, and the SQLite run is made
twice in the same process, without a key table and with one (each requester's values sealed
under a key of their own, created at their first ticket: every ticket here has a new requester,
the dearest case), the two desks taking turns of 50 tickets, ``--rounds`` times.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tickets.application.clock import VirtualClock
from tickets.application.desk import TicketDesk
from tickets.application.policy_files import load_catalogue
from tickets.config import persistence_env
from tickets.domain.actor import Actor
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


def sealed_or_not(tickets: int, rounds: int, chunk: int = 50) -> dict[str, float]:
    """Commands/s without and with sealing, measured side by side in the same process.

    Two desks on fresh SQLite files (one with a key table) take turns, ``chunk`` tickets each, so
    that other work on the machine weighs on both alike; the rates are over all turns of all
    ``rounds``.
    """
    spent = {"sqlite_plain": 0.0, "sqlite_sealed": 0.0}
    cpu = dict.fromkeys(spent, 0.0)
    start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    for _round in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            desks = {name: TicketDesk(
                load_catalogue(), clock=VirtualClock(datetime(2026, 11, 1, tzinfo=UTC)),
                env=persistence_env(f"sqlite:///{Path(tmp) / name}.sqlite3"), rng=random.Random(1),
                keys=KeyTable(Path(tmp) / "keys.sqlite3") if name == "sqlite_sealed" else None,
            ) for name in spent}
            for desk in desks.values():
                life(desk, -1, start - timedelta(days=1), contact(-1))  # warm-up
            for first in range(0, tickets, chunk):
                for name, desk in desks.items():
                    began, began_cpu = time.perf_counter(), time.process_time()
                    for i in range(first, min(first + chunk, tickets)):
                        life(desk, i, start, contact(i))
                    spent[name] += time.perf_counter() - began
                    cpu[name] += time.process_time() - began_cpu
            for desk in desks.values():
                desk.close()
    commands = rounds * tickets * COMMANDS_PER_TICKET
    rates = {name: commands / seconds for name, seconds in spent.items()}
    rates |= {f"{name}_per_cpu_s": commands / seconds for name, seconds in cpu.items()}
    rates["sealed_vs_plain"] = rates["sqlite_sealed"] / rates["sqlite_plain"]
    rates["sealed_vs_plain_cpu"] = rates["sqlite_sealed_per_cpu_s"] / rates["sqlite_plain_per_cpu_s"]
    return rates


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
        print(json.dumps({k: round(v, 3) if k.startswith("sealed_vs") else round(v)
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
