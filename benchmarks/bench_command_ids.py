"""Commands per second through the edges' path (``domain.commands.execute``), each with its own id.

The HTTP API and the intake apply commands this way: parsed, keyed by sender and command id,
looked up in the receipts, applied, and saved with their receipt. Each ticket gets two commands
(a service opens it for a customer, then answers it), on a SQLite file. Run:
``python benchmarks/bench_command_ids.py [--tickets 1500] [--json]``; to compare with another
checkout, run it with ``PYTHONPATH`` set to that checkout.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta

from tickets.application.clock import VirtualClock
from tickets.application.commands import execute
from tickets.application.desk import TicketDesk
from tickets.application.policy_files import load_catalogue
from tickets.config import persistence_env
from tickets.domain.actor import Actor

WEBFORM = Actor("service", "webform")
START = datetime(2026, 3, 2, 9, tzinfo=UTC)


def run(tickets: int) -> float:
    """Commands per second for ``tickets`` tickets of two commands each."""
    with tempfile.TemporaryDirectory(prefix="bench-command-ids-") as home:
        desk = TicketDesk(load_catalogue(), clock=VirtualClock(START + timedelta(days=60)),
                          env=persistence_env(f"sqlite:///{home}/events.sqlite3"),
                          rng=random.Random(1))
        began = time.perf_counter()
        for i in range(tickets):
            at = (START + timedelta(minutes=i)).isoformat()
            opened = execute(desk, {
                "command_id": f"open-{i}", "type": "open", "desk": "zoom", "plan": "premier",
                "severity": "P2", "requester": f"c-{i}", "requester_role": "admin",
                "title": "Meeting fails", "at": at, "actor": f"customer:c-{i}"}, WEBFORM)
            answered = execute(desk, {"command_id": f"respond-{i}", "type": "respond",
                                      "ticket": opened.ticket_number, "at": at}, WEBFORM)
            if not (opened.accepted and answered.accepted):
                raise SystemExit(f"a command was refused: {opened.error or answered.error}")
        seconds = time.perf_counter() - began
        desk.close()
    return 2 * tickets / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1500)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rate = run(args.tickets)
    if args.json:
        print(json.dumps({"commands_per_s": round(rate), "tickets": args.tickets}))
    else:
        print(f"commands with ids through execute (SQLite): {rate:,.0f} commands/s "
              f"({args.tickets} tickets, 2 commands each)")


if __name__ == "__main__":
    main()
