"""End-to-end latency: a command published on ``tickets.intake`` until its event is in the read model.

The engine runs as deployed, each process on its own (``tickets intake``, ``tickets publish``,
``tickets consume``), on PostgreSQL (event store and read models) and the broker. A service sends
commands at a steady rate (default 200/s for 30 s): it opens tickets and walks each through
assign, respond, request info, customer reply and close, each step sent once the previous one is
answered. For every command it measures, from the moment it was sent:

* ``answer``: until its answer is on ``tickets.intake.results`` (the intake: fetch, apply, store,
  answer);
* ``on_events_topic``: until its event is on ``tickets.events`` (adds the publisher);
* ``visible``: until the audit trail row of the event it recorded is in the read model (adds
  ``tickets.events`` and the consumer group's transaction), found by a watcher that listens on
  PostgreSQL for the consumer group's announcement of each batch it commits (``NOTIFY
  tickets_read_model``) and then reads the audit trail (``--watch-ms`` N: poll every N ms instead);

and each stage's own share, command by command: ``answer -> on_events_topic`` (the publisher,
which reads the store and so may publish before the answer arrives: negative values are real) and
``on_events_topic -> visible`` (the consumer group). Beside them the raw figure for the same
broker: a plain kafka-python produce -> consume round trip at the same rate, no engine code; every
measured figure includes one such hop for the measuring side to see the result. ``--stages``
starts only the processes the figures need: ``intake`` (answers only), ``events`` (intake and
publisher) or ``all`` (default). Target: ``visible`` p99 at most 250 ms at 200 commands/s.

A timeline follows: the same figures for the commands sent in each 10 s window, with the CPU
each process spent per command in it. It shows what a single figure hides on the test broker:
its CPU per record grows with what its topics hold, so a run's tail depends on its length.

Bounded: the warm-up gives up after ``--warm-up-seconds``, the tail after ``--drain-seconds``;
the servers and processes it started are stopped on the way out. Starts its own servers unless
``--external``.

    python benchmarks/bench_latency.py [--rate 200] [--seconds 30] [--stages all] [--json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import resource
import statistics
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgpack
from bench_support import (
    LIFE,
    QUIET,
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

from tests.servers import KafkaEndpoint, PostgresAccess, PostgresDatabase
from tickets.application.desk import TicketDesk
from tickets.application.policy_files import load_catalogue
from tickets.collector import freeze_startup_objects
from tickets.config import persistence_env
from tickets.consumers.kafka_settings import KafkaSettings
from tickets.projections.readstore import READ_MODEL_CHANNEL

#: What each ``--stages`` choice starts, and so how far its figures reach.
STAGES: dict[str, dict[str, list[str]]] = {
    "intake": {"intake": ["intake"]},
    "events": {"intake": ["intake"], "publish": ["publish"]},
    "all": {"intake": ["intake"], "publish": ["publish"], "consume": ["consume"]},
}


def percentiles(samples: list[float]) -> dict[str, Any]:
    if not samples:
        return {"count": 0}
    ordered = sorted(samples)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

    return {"count": len(ordered), "p50_ms": at(0.50), "p90_ms": at(0.90), "p99_ms": at(0.99),
            "max_ms": round(ordered[-1] * 1000, 1), "mean_ms": round(statistics.fmean(ordered) * 1000, 1)}


@dataclass
class Sent:
    at: float
    answered: float | None = None
    ticket_id: str | None = None
    version: int | None = None
    published: float | None = None
    visible: float | None = None


@dataclass
class Traffic:
    """What the service sent and learnt; shared by its threads under ``lock``."""

    #: Whether answered commands are watched for in the read model (``--stages all``).
    watch_read_model: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock)
    sent: dict[str, Sent] = field(default_factory=dict)
    ready: deque[tuple[str, int]] = field(default_factory=deque)  # (ticket number, next step)
    waiting: dict[str, Sent] = field(default_factory=dict)  # answered, not yet visible
    on_topic: dict[tuple[str, int], float] = field(default_factory=dict)  # seen on tickets.events
    opened: int = 0
    rejected: int = 0

    def published(self, sent: Sent) -> float | None:
        """When the event ``sent`` recorded was first seen on ``tickets.events`` (hold ``lock``)."""
        if sent.ticket_id is None or sent.version is None:
            return None
        return self.on_topic.get((sent.ticket_id, sent.version))


def _next_command(traffic: Traffic, serial: int) -> tuple[dict[str, Any], bytes]:
    with traffic.lock:
        if traffic.ready:
            number, index = traffic.ready.popleft()
            kind, extra = LIFE[index]
            return step(f"s{index}-{number}", kind, number, extra), number.encode()
        traffic.opened += 1
    return opening(f"o-{serial}", f"c-{serial}"), f"c-{serial}".encode()


def send_steadily(client: ServiceClient, traffic: Traffic, rate: float, seconds: float,
                  tick: float = 0.0) -> float:
    """Send ``rate`` commands a second for ``seconds``; return the rate achieved.

    With ``tick`` above 0 the service wakes once per ``tick`` seconds and sends the commands that
    fell due meanwhile together, as a service with many users does (one request to the broker
    for several commands); each command is timed from its own send.
    """
    interval, started, serial = 1.0 / rate, time.perf_counter(), 0
    while (now := time.perf_counter()) - started < seconds:
        due = started + serial * interval
        if due > now:
            wake = started + math.ceil((due - started) / tick) * tick if tick > 0 else due
            time.sleep(wake - now)
        message, key = _next_command(traffic, serial)
        with traffic.lock:
            traffic.sent[message["command_id"]] = Sent(time.perf_counter())
        client.send(message, key)
        serial += 1
    return serial / (time.perf_counter() - started)


def read_answers(client: ServiceClient, traffic: Traffic, stop: threading.Event) -> None:
    while not stop.is_set():
        for key, answer, arrived in client.poll(timeout_ms=20):
            with traffic.lock:
                sent = traffic.sent.get(key)
                if sent is None or sent.answered is not None:
                    continue
                sent.answered = arrived
                if answer["status"] != "accepted":
                    traffic.rejected += 1
                    continue
                sent.ticket_id, sent.version = answer["ticket_id"], answer["version"]
                if traffic.watch_read_model:
                    traffic.waiting[key] = sent
                index = 0 if key.startswith("o-") else int(key[1:key.index("-")]) + 1
                if index < len(LIFE):
                    traffic.ready.append((answer["ticket_number"], index))


def events_seen(traffic: Traffic) -> Callable[[list[tuple[str, int]], float], None]:
    """Note when each (ticket, version) arrives on ``tickets.events``: the publisher's share."""

    def note(seen: list[tuple[str, int]], now: float) -> None:
        with traffic.lock:
            for ticket_version in seen:
                traffic.on_topic.setdefault(ticket_version, now)

    return note


def _mark_visible(conn: Any, traffic: Traffic) -> None:
    """Mark commands visible when the audit trail holds their ticket at their version."""
    with traffic.lock:
        pending = list(traffic.waiting.items())
    ids = sorted({s.ticket_id for _, s in pending if s.ticket_id})
    if not ids:
        return
    try:
        rows = conn.execute("SELECT ticket_id, max(version) FROM audit_trail "
                            "WHERE ticket_id = ANY(%s) GROUP BY ticket_id", (ids,)).fetchall()
    except Exception:  # the consumer has not created its tables yet
        rows = []
    now = time.perf_counter()
    seen = dict(rows)
    with traffic.lock:
        for key, sent in pending:
            if sent.version is not None and seen.get(sent.ticket_id, 0) >= sent.version:
                sent.visible = now
                traffic.waiting.pop(key, None)


def watch_read_model(database: PostgresDatabase, traffic: Traffic, stop: threading.Event,
                     every: float) -> None:
    """Look at the audit trail whenever the consumer group announces a committed batch (or, with
    ``every`` above 0, every ``every`` seconds)."""
    with database.connect(autocommit=True) as conn:
        if every > 0:
            while not stop.is_set():
                _mark_visible(conn, traffic)
                stop.wait(every)
            return
        conn.execute(f"LISTEN {READ_MODEL_CHANNEL}")
        _mark_visible(conn, traffic)
        while not stop.is_set():
            if any(True for _ in conn.notifies(timeout=0.2, stop_after=1)):
                for _ in conn.notifies(timeout=0):  # every announcement waiting: one look for all
                    pass
            _mark_visible(conn, traffic)


def _ticks(pid: int | str) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user and system) of a process and its live children, e.g. a server and its
    backends (Linux ``/proc``); 0 when it cannot be read."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if entry.name == str(pid) or int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                total += _ticks(entry.name)
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
    return total / os.sysconf("SC_CLK_TCK")


def others_cpu_seconds(database: object, endpoint: object) -> dict[str, float]:
    """The servers' CPU (when started here) and this benchmark's own (its service and watchers)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    found = {"benchmark": usage.ru_utime + usage.ru_stime}
    for name, server in (("postgres", database), ("broker", endpoint)):
        pid = getattr(server, "pid", None)
        if isinstance(pid, int):
            found[name] = tree_cpu_seconds(pid)
    return found


#: The timeline's window: figures by when commands were sent, and the CPU spent meanwhile.
WINDOW_SECONDS = 10.0


def sample_cpu(cpu_now: Callable[[], dict[str, float]], stop: threading.Event,
               samples: list[tuple[float, dict[str, float]]]) -> None:
    """Every ``WINDOW_SECONDS`` until ``stop``: (time, CPU seconds by process so far)."""
    while True:
        samples.append((time.perf_counter(), cpu_now()))
        if stop.wait(WINDOW_SECONDS):
            samples.append((time.perf_counter(), cpu_now()))
            return


def timeline(sent: list[Sent], samples: list[tuple[float, dict[str, float]]]) -> list[dict[str, Any]]:
    """One row per window of sending: the commands sent in it, their figures, and the CPU each
    process spent per command sent in it (the test broker's grows with what its topics hold)."""
    rows = []
    for (began, before), (ended, after) in itertools.pairwise(samples):
        window = [s for s in sent if began <= s.at < ended]
        if not window:
            continue
        rows.append({
            "from_s": round(began - samples[0][0], 1), "commands": len(window),
            "answer": percentiles([s.answered - s.at for s in window if s.answered]),
            "visible": percentiles([s.visible - s.at for s in window if s.visible]),
            "cpu_ms_per_command": {name: round(1000 * (after[name] - before[name]) / len(window), 2)
                                   for name in after if name in before},
        })
    return rows


def _reached(traffic: Traffic, sent: Sent, stages: str) -> bool:
    """Whether ``sent`` got as far as ``stages`` measures (hold ``traffic.lock``)."""
    if sent.answered is None:
        return False
    if sent.ticket_id is None or stages == "intake":
        return True
    if stages == "events":
        return traffic.published(sent) is not None
    return sent.visible is not None


def engine_latency(
    database: PostgresAccess, endpoint: KafkaEndpoint, args: argparse.Namespace,
) -> dict[str, Any]:
    prefix = new_prefix("bench-latency")
    settings = kafka_settings(endpoint, prefix)
    topics = settings.topics
    endpoint.create_topics([topics.events, topics.intake, topics.intake_results],
                           partitions=args.partitions)
    endpoint.create_topics([topics.dlq], partitions=1)
    db = database.create_database()
    TicketDesk(load_catalogue(), env=persistence_env(url_of(db))).close()  # the store's tables, once
    traffic = Traffic(watch_read_model=args.stages == "all")
    watching_events = args.stages == "events" or (args.stages == "all" and not args.no_events_watch)
    client = ServiceClient(settings, on_events=events_seen(traffic) if watching_events else None)
    stop = threading.Event()
    threads = [threading.Thread(target=read_answers, args=(client, traffic, stop))]
    if args.stages == "all":
        threads.append(threading.Thread(target=watch_read_model,
                                        args=(db, traffic, stop, args.watch_ms / 1000)))
    drained = False
    samples: list[tuple[float, dict[str, float]]] = []
    with tempfile.TemporaryDirectory() as home, engine_processes(
        STAGES[args.stages], engine_env(url_of(db), endpoint, prefix, home)
    ) as processes:
        for thread in threads:
            thread.start()
        try:
            _warm_up(client, traffic, processes, args.stages, args.warm_up_seconds)
            with traffic.lock:
                traffic.sent.clear()
            # The measuring side's own full collections (92 ms once in a 30 s run, walking its
            # start-up objects) would delay the times it notes: it freezes them as the engine does.
            freeze_startup_objects()

            def cpu_now() -> dict[str, float]:
                return {**{name: p.cpu_seconds() for name, p in processes.items()},
                        **others_cpu_seconds(database, endpoint)}

            cpu_before = cpu_now()
            sampling = threading.Event()
            sampler = threading.Thread(target=sample_cpu, args=(cpu_now, sampling, samples))
            sampler.start()
            try:
                achieved = send_steadily(client, traffic, args.rate, args.seconds,
                                         args.tick_ms / 1000)
            finally:
                sampling.set()
                sampler.join(timeout=10)
            deadline = time.perf_counter() + args.drain_seconds
            while not drained and time.perf_counter() < deadline:
                time.sleep(0.05)
                with traffic.lock:
                    drained = all(_reached(traffic, s, args.stages) for s in traffic.sent.values())
            now = cpu_now()
            cpu = {name: round(seconds - cpu_before[name], 2) for name, seconds in now.items()}
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=10)
            client.close()
    database.drop_database(db.dbname)
    with traffic.lock:
        sent = list(traffic.sent.values())
        for s in sent:
            s.published = traffic.published(s)
    return {
        "stages": args.stages, "rate": args.rate, "tick_ms": args.tick_ms,
        "achieved_rate": round(achieved, 1),
        "seconds": args.seconds, "sent": len(sent), "tickets_opened": traffic.opened,
        "rejected": traffic.rejected, "drained": drained,
        "not_answered": sum(1 for s in sent if s.answered is None),
        **_figures(sent, args.stages, watching_events or args.stages != "all"),
        "cpu_seconds": cpu, "cpu_ms_per_command": {
            name: round(1000 * seconds / max(1, len(sent)), 2) for name, seconds in cpu.items()},
        "timeline": timeline(sent, samples),
    }


def _figures(sent: list[Sent], stages: str, events_watched: bool = True) -> dict[str, Any]:
    """Send -> each stage, and each stage's own share, over the commands that reached it."""
    figures: dict[str, Any] = {
        "answer": percentiles([s.answered - s.at for s in sent if s.answered])}
    if stages == "events" or (stages == "all" and events_watched):
        figures["on_events_topic"] = percentiles([s.published - s.at for s in sent if s.published])
        figures["answer_to_events_topic"] = percentiles(
            [s.published - s.answered for s in sent if s.published and s.answered])
        figures["not_published"] = sum(1 for s in sent if s.ticket_id and s.published is None)
    if stages == "all":
        figures["visible"] = percentiles([s.visible - s.at for s in sent if s.visible])
        if events_watched:
            figures["events_topic_to_visible"] = percentiles(
                [s.visible - s.published for s in sent if s.visible and s.published])
        figures["not_visible"] = sum(1 for s in sent if s.ticket_id and s.visible is None)
    return figures


def _warm_up(client: ServiceClient, traffic: Traffic, processes: dict[str, Any], stages: str,
             seconds: float) -> None:
    """Until a ticket opened through the intake got through every stage (groups joined, tables made)."""
    with traffic.lock:
        traffic.sent["o-warm"] = Sent(time.perf_counter())
    client.send(opening("o-warm", "c-warm"), b"c-warm")
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        with traffic.lock:
            if _reached(traffic, traffic.sent["o-warm"], stages):
                traffic.ready.clear()
                traffic.waiting.clear()
                return
        time.sleep(0.05)
    tails = "\n".join(f"--- {name}\n{p.tail()}" for name, p in processes.items())
    raise RuntimeError("the engine did not show the warm-up ticket:\n" + tails)


def raw_round_trip(endpoint: KafkaEndpoint, settings: KafkaSettings, rate: float,
                   seconds: float) -> dict[str, Any]:
    """A plain kafka-python producer -> consumer on one topic, at the same rate."""
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    topic = settings.topic_prefix + "raw"
    endpoint.create_topics([topic], partitions=1)
    producer = KafkaProducer(bootstrap_servers=settings.servers(), linger_ms=0, **QUIET)
    consumer = KafkaConsumer(bootstrap_servers=settings.servers(), fetch_max_wait_ms=20, **QUIET)
    consumer.assign([TopicPartition(topic, 0)])
    consumer.seek_to_beginning()
    samples: list[float] = []
    stop = threading.Event()

    def receive() -> None:
        while not stop.is_set():
            for records in consumer.poll(timeout_ms=20).values():
                now = time.perf_counter()
                samples.extend(now - msgpack.unpackb(r.value)["at"] for r in records)

    reader = threading.Thread(target=receive)
    reader.start()
    try:
        producer.send(topic, value=msgpack.packb({"at": time.perf_counter()})).get(timeout=30)
        time.sleep(1.0)
        samples.clear()
        interval, started, n = 1.0 / rate, time.perf_counter(), 0
        while (now := time.perf_counter()) - started < seconds:
            due = started + n * interval
            if due > now:
                time.sleep(due - now)
            producer.send(topic, value=msgpack.packb({"at": time.perf_counter(), "pad": "x" * 180}))
            n += 1
        time.sleep(1.0)
    finally:
        stop.set()
        reader.join(timeout=10)
        producer.close(timeout=10)
        consumer.close()
    return {"rate": rate, "seconds": seconds, **percentiles(samples)}


def _line(figures: dict[str, Any] | None) -> str:
    if not figures or not figures.get("count"):
        return "none"
    return (f"p50 {figures['p50_ms']:>7.1f}  p90 {figures['p90_ms']:>7.1f}  p99 {figures['p99_ms']:>7.1f}"
            f"  max {figures['max_ms']:>7.1f} ms  ({figures['count']})")


def print_report(report: dict[str, Any]) -> None:
    raw = report.get("raw_kafka")
    engine = report["engine"]
    print(f"engine: {engine['sent']} commands at {engine['achieved_rate']}/s "
          f"(stages: {engine['stages']}), {engine['rejected']} rejected, "
          f"{engine['not_answered']} not answered"
          + ("" if engine["drained"] else ", NOT DRAINED (some figures are missing)"))
    rows = [("raw kafka produce -> consume", raw)] if raw else []
    rows.append(("send -> answer (intake)", engine["answer"]))
    if "on_events_topic" in engine:
        rows += [("send -> on tickets.events", engine["on_events_topic"]),
                 ("  answer -> events (publisher)", engine["answer_to_events_topic"])]
    if "visible" in engine:
        rows.append(("send -> in the read model", engine["visible"]))
        if "events_topic_to_visible" in engine:
            rows.append(("  events -> read model (group)", engine["events_topic_to_visible"]))
    for name, figures in rows:
        print(f"  {name:<31} {_line(figures)}")
    if "visible" in engine:
        print("  target: send -> read model p99 <= 250 ms")
    print(f"  CPU ms per command: {engine['cpu_ms_per_command']}")
    print("    (engine processes; postgres and broker with their workers; the benchmark itself)")
    if engine.get("timeline"):
        print("  by when sent: answer p50/p99, read model p50/p99 (ms), broker CPU ms per command")
        for row in engine["timeline"]:
            answer, visible = row["answer"], row["visible"]
            seen = (f"{visible['p50_ms']:>6.1f} / {visible['p99_ms']:>6.1f}"
                    if visible.get("count") else "     - /      -")
            print(f"    {row['from_s']:>5.0f} s  {row['commands']:>5}  "
                  f"{answer.get('p50_ms', 0):>6.1f} / {answer.get('p99_ms', 0):>6.1f}   {seen}   "
                  f"{row['cpu_ms_per_command'].get('broker', 0):>5.2f}")
    print(f"  load average {report['load_average_before']} -> {report['load_average_after']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200.0, help="commands per second")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long to send")
    parser.add_argument("--tick-ms", type=float, default=0.0,
                        help="send the commands due every N ms together (0: each on its own)")
    parser.add_argument("--stages", choices=sorted(STAGES), default="all",
                        help="which processes run: intake, intake and publisher (events), or all")
    parser.add_argument("--no-events-watch", action="store_true",
                        help="with --stages all: do not also read tickets.events to time the publisher's "
                             "share")
    parser.add_argument("--raw-seconds", type=float, default=10.0,
                        help="the raw round trip's length (0: skip it)")
    parser.add_argument("--warm-up-seconds", type=float, default=90.0,
                        help="give up when the first command has not got through by then")
    parser.add_argument("--drain-seconds", type=float, default=15.0,
                        help="after sending, wait at most this long for the last results")
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--watch-ms", type=float, default=0.0,
                        help="poll the read model every N ms instead of on the group's announcements")
    add_server_arguments(parser)
    args = parser.parse_args(argv)
    report = report_header(args.nice)
    report["load_average_before"] = report.pop("load_average")
    with servers(args.external, args.durable, args.nice) as (database, endpoint):
        if args.raw_seconds > 0:
            settings = kafka_settings(endpoint, new_prefix("bench-raw"))
            report["raw_kafka"] = raw_round_trip(endpoint, settings, args.rate, args.raw_seconds)
        report["engine"] = engine_latency(database, endpoint, args)
    report["load_average_after"] = [round(x, 1) for x in os.getloadavg()]
    if args.json:
        print(json.dumps(report))
    else:
        print_report(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
