"""Intake commands per second on PostgreSQL, beside a bare eventsourcing load-change-save.

Three figures on one PostgreSQL server (each in a fresh database):

* ``bare``: eventsourcing alone, a two-field aggregate loaded, changed and saved, one transaction
  per change: the store's own pace for one-at-a-time commands;
* ``desk``: ``TicketDesk`` applying command messages one at a time (``domain.commands.execute``),
  as the HTTP API does: validation, receipts, rules, one transaction each;
* ``intake``: the whole path as deployed: a service publishes command messages on
  ``tickets.intake``; ``tickets intake`` (its own process) applies them in staged batches and
  answers each on ``tickets.intake.results``; the figure runs from the first send to the last
  answer. Tickets are opened first (their numbers come back in the answers), then each lives
  through assign, respond, request info, customer reply and close (six commands per ticket).
  Also reported: the intake process's own CPU time, as commands per CPU-second, a figure that
  other work on the machine disturbs much less than the wall-clock rates.

Starts its own servers unless ``--external`` (``TICKETS_DATABASE_URL``, ``KAFKA_BOOTSTRAP_SERVERS``).
Every phase stops at its count or after ``--max-seconds``.

    python benchmarks/bench_intake.py [--tickets 1000] [--batch 500] [--json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from typing import Any

from bench_support import (
    LIFE,
    ServiceClient,
    add_server_arguments,
    engine_env,
    engine_processes,
    kafka_settings,
    new_prefix,
    opening,
    report_header,
    servers,
    step,
    url_of,
)
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from tests.servers import KafkaEndpoint, PostgresAccess
from tickets.application.commands import execute
from tickets.application.desk import TicketDesk
from tickets.application.policy_files import load_catalogue
from tickets.config import persistence_env
from tickets.domain.actor import Actor

SERVICE = Actor("service", "bench")


class Counter(Aggregate):
    @event("Started")
    def __init__(self, name: str) -> None:
        self.name = name
        self.count = 0

    @event("Incremented")
    def increment(self) -> None:
        self.count += 1


class Counters(Application):
    pass


def bare(env: dict[str, str], changes: int, max_seconds: float) -> dict[str, Any]:
    app = Counters(env=env)
    try:
        ids = []
        for i in range(200):
            counter = Counter(f"c{i}")
            app.save(counter)
            ids.append(counter.id)
        done, started = 0, time.perf_counter()
        while done < changes and time.perf_counter() - started < max_seconds:
            counter = app.repository.get(ids[done % len(ids)])
            counter.increment()
            app.save(counter)
            done += 1
        elapsed = time.perf_counter() - started
    finally:
        app.close()
    return {"commands": done, "seconds": round(elapsed, 2), "per_second": round(done / elapsed)}


def desk_one_at_a_time(env: dict[str, str], tickets: int, max_seconds: float) -> dict[str, Any]:
    desk = TicketDesk(load_catalogue(), env=env)
    try:
        done, started = 0, time.perf_counter()
        for i in range(tickets):
            answer = execute(desk, opening(f"o-{i}", f"c-{i}"), SERVICE)
            number = answer.ticket_number or ""
            done += 1
            for n, (kind, extra) in enumerate(LIFE):
                execute(desk, step(f"s{n}-{i}", kind, number, extra), SERVICE)
                done += 1
            if time.perf_counter() - started > max_seconds:
                break
        elapsed = time.perf_counter() - started
    finally:
        desk.close()
    return {"commands": done, "seconds": round(elapsed, 2), "per_second": round(done / elapsed)}


def _phase(client: ServiceClient, messages: list[tuple[dict[str, Any], bytes]],
           deadline: float) -> tuple[dict[str, dict[str, Any]], float]:
    started = time.perf_counter()
    for message, key in messages:
        client.send(message, key)
    client.producer.flush(timeout=30)
    answers = client.collect({m["command_id"] for m, _ in messages}, deadline)
    return answers, time.perf_counter() - started


def intake(database: PostgresAccess, endpoint: KafkaEndpoint, args: argparse.Namespace) -> dict[str, Any]:
    prefix = new_prefix("bench-intake")
    settings = kafka_settings(endpoint, prefix)
    topics = settings.topics
    endpoint.create_topics([topics.intake, topics.intake_results], partitions=args.partitions)
    endpoint.create_topics([topics.dlq], partitions=1)
    db = database.create_database()
    client = ServiceClient(settings)
    with tempfile.TemporaryDirectory() as home, engine_processes(
        {"intake": ["intake", "--batch", str(args.batch)]},
        engine_env(url_of(db), endpoint, prefix, home),
    ) as processes:
        warm = [(opening(f"warm-{i}", f"w-{i}"), f"w-{i}".encode()) for i in range(20)]
        got, _ = _phase(client, warm, time.perf_counter() + 60)  # group join, caches, tables
        if len(got) < len(warm):
            raise RuntimeError("the intake did not answer:\n" + processes["intake"].tail())
        deadline = time.perf_counter() + args.max_seconds
        cpu_before = processes["intake"].cpu_seconds()
        opens = [(opening(f"o-{i}", f"c-{i}"), f"c-{i}".encode()) for i in range(args.tickets)]
        opened, open_seconds = _phase(client, opens, deadline)
        numbers = {int(k[2:]): a["ticket_number"] for k, a in opened.items()
                   if a["status"] == "accepted"}
        changes = [(step(f"s{n}-{i}", kind, numbers[i], extra), numbers[i].encode())
                   for n, (kind, extra) in enumerate(LIFE) for i in sorted(numbers)]
        changed, change_seconds = _phase(client, changes, deadline)
        cpu = processes["intake"].cpu_seconds() - cpu_before
    client.close()
    database.drop_database(db.dbname)
    answered = {**opened, **changed}
    rejected = sum(1 for a in answered.values() if a["status"] != "accepted")
    seconds = open_seconds + change_seconds
    return {"commands": len(answered), "rejected": rejected, "sent": len(opens) + len(changes),
            "seconds": round(seconds, 2), "per_second": round(len(answered) / seconds),
            "opens_per_second": round(len(opened) / open_seconds),
            "changes_per_second": round(len(changed) / change_seconds),
            "intake_cpu_seconds": round(cpu, 2),
            "per_intake_cpu_second": round(len(answered) / cpu) if cpu else None, "batch": args.batch,
            "partitions": args.partitions}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1000, help="tickets per run (6 commands each)")
    parser.add_argument("--bare-changes", type=int, default=5000)
    parser.add_argument("--desk-tickets", type=int, default=300)
    parser.add_argument("--batch", type=int, default=500, help="the intake's records per poll")
    parser.add_argument("--partitions", type=int, default=6, help="of tickets.intake")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="bound for each phase")
    add_server_arguments(parser)
    args = parser.parse_args(argv)
    report = report_header(args.nice)
    with servers(args.external, args.durable, args.nice) as (database, endpoint):
        for name, run in (
            ("bare", lambda env: bare(env, args.bare_changes, args.max_seconds)),
            ("desk", lambda env: desk_one_at_a_time(env, args.desk_tickets, args.max_seconds)),
        ):
            db = database.create_database()
            report[name] = run(persistence_env(url_of(db)))
            database.drop_database(db.dbname)
            if not args.json:
                print(f"{name:<7} {report[name]['per_second']:>6} commands/s  {report[name]}", flush=True)
        report["intake"] = intake(database, endpoint, args)
    if args.json:
        print(json.dumps(report))
    else:
        print(f"intake  {report['intake']['per_second']:>6} commands/s  {report['intake']}")
        print(f"intake / bare = {report['intake']['per_second'] / report['bare']['per_second']:.2f}"
              f"  (target: at least 500 commands/s)  load average {report['load_average']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
