"""Commands per CPU second of two checkouts, measured at the same moment.

On a machine where other work runs, wall-clock rates of runs made one after the other swing more
than the difference being measured. Here one process per checkout runs the lives of
``bench_commands.py`` (that checkout's own script, ``life`` and ``TicketDesk``) at the same time,
so whatever else runs weighs on both alike, and each times its own loop with
``time.process_time``. Run from either checkout::

    python benchmarks/bench_commands_pair.py --before /path/to/old --after . --store memory

Each child runs with ``PYTHONPATH`` at its checkout, so each imports its own code.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import Any


def child(tree: Path, store: str, tickets: int) -> float:
    """Commands per CPU second of ``tree``'s own benchmark lives (run inside its checkout)."""
    sys.path.insert(0, str(tree / "benchmarks"))
    bench: Any = importlib.import_module("bench_commands")
    with tempfile.TemporaryDirectory() as tmp:
        env = ({"PERSISTENCE_MODULE": "eventsourcing.popo"} if store == "memory"
               else bench.persistence_env(f"sqlite:///{Path(tmp) / 'events.sqlite3'}"))
        start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
        desk = bench.TicketDesk(
            bench.load_catalogue(), clock=bench.VirtualClock(datetime(2026, 11, 1, tzinfo=UTC)),
            env=env, rng=random.Random(1))
        bench.life(desk, -1, start - timedelta(days=1))  # warm-up
        began = time.process_time()
        for i in range(tickets):
            bench.life(desk, i, start)
        spent = time.process_time() - began
        desk.close()
    return tickets * bench.COMMANDS_PER_TICKET / spent


def pair(trees: dict[str, Path], store: str, tickets: int) -> dict[str, float]:
    children = {
        name: subprocess.Popen(
            [sys.executable, __file__, "--child", str(tree), "--store", store,
             "--tickets", str(tickets)],
            cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)}, stdout=subprocess.PIPE,
            text=True)
        for name, tree in trees.items()
    }
    rates = {}
    for name, process in children.items():
        out, _ = process.communicate()
        if process.returncode != 0:
            raise SystemExit(f"the {name} run failed ({process.returncode})")
        rates[name] = float(out.strip())
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, help="the checkout to compare against")
    parser.add_argument("--after", type=Path, default=Path.cwd())
    parser.add_argument("--store", choices=("memory", "sqlite"), default="memory")
    parser.add_argument("--tickets", type=int, default=1500)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(child(args.child.resolve(), args.store, args.tickets))
        return
    if args.before is None:
        parser.error("--before is required")
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    runs: dict[str, list[float]] = {"before": [], "after": []}
    for _ in range(args.pairs):
        load = os.getloadavg()[0]
        rates = pair(trees, args.store, args.tickets)
        for name, rate in rates.items():
            runs[name].append(rate)
        print(json.dumps({"load": round(load, 2)} | {k: round(v) for k, v in rates.items()}))
    medians = {name: median(values) for name, values in runs.items()}
    print(json.dumps({"store": args.store} | {k: round(v) for k, v in medians.items()}
                     | {"after_vs_before": round(medians["after"] / medians["before"], 3)}))


if __name__ == "__main__":
    main()
