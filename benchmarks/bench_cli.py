"""How fast does the command line answer? Run: ``python benchmarks/bench_cli.py [--json]``.

Times ``tickets --help`` and ``tickets show N`` on the embedded default (SQLite in a fresh
temporary home, where a few tickets are opened first), each run in a fresh Python process, as a
person typing the command gets it. The figure is the median wall-clock time of ``--runs`` runs
(10), with the fastest and slowest beside it.

``--code DIR`` runs the commands from another checkout of the code (its directory goes first on
``PYTHONPATH``), so the same interpreter and machine can time two versions side by side.
``--without-rich`` runs them as if ``rich`` were not installed: the test dependencies bring it
(schemathesis needs it) and ``structlog`` imports it when it is there, which an installation of
the engine alone does not pay for.

``PYTHONDONTWRITEBYTECODE`` is dropped from the commands' environment: where it is set (some
build and sandbox images set it), an editable install compiles the project's modules again in
every process, about 0.15 s of ``show`` that a person's installation does not pay.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
#: ``tickets ARGS``, as the console script runs it.
ENTRY = [str(Path(__file__).with_name("tickets_entry.py"))]
#: The same, with ``import rich`` failing as it does where rich is not installed.
ENTRY_WITHOUT_RICH = [*ENTRY, "--without-rich"]
TICKETS_OPENED = 5


def environment(code: Path, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TICKETS_", "KAFKA_")) and k not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")}
    return env | {"PYTHONPATH": str(code), "TICKETS_HOME": str(home)}


def tickets(
    args: list[str], code: Path, home: Path, entry: list[str] = ENTRY,
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, *entry, *args], cwd=code, env=environment(code, home),
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"tickets {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done


def open_tickets(code: Path, home: Path, n: int) -> list[str]:
    """``n`` tickets on the o365 desk; their numbers."""
    numbers = []
    for i in range(n):
        done = tickets(["open", "--desk", "o365", "--requester", f"bench-{i}", "--role", "admin",
                        "--title", f"benchmark ticket {i}", "--json"], code, home)
        numbers.append(json.loads(done.stdout)["number"])
    return numbers


def timed(args: list[str], code: Path, home: Path, runs: int, entry: list[str]) -> dict[str, float]:
    seconds = []
    for _ in range(runs):
        began = time.perf_counter()
        tickets(args, code, home, entry)
        seconds.append(time.perf_counter() - began)
    return {"median_s": round(statistics.median(seconds), 4), "min_s": round(min(seconds), 4),
            "max_s": round(max(seconds), 4), "runs": runs}


def measure(code: Path, runs: int, entry: list[str] = ENTRY) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        home = Path(tmp) / "home"
        number = open_tickets(code, home, TICKETS_OPENED)[-1]
        tickets(["show", number], code, home)  # a first run fills the OS's file caches
        return {
            "code": str(code),
            "help": timed(["--help"], code, home, runs, entry),
            "show": timed(["show", number], code, home, runs, entry),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="runs per command (10)")
    parser.add_argument("--code", type=Path, default=REPO,
                        help="the checkout whose code runs (default: this one)")
    parser.add_argument("--without-rich", action="store_true",
                        help="run the commands as if rich were not installed")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    figures = measure(args.code.resolve(), args.runs,
                      ENTRY_WITHOUT_RICH if args.without_rich else ENTRY)
    figures["without_rich"] = args.without_rich
    figures["python"] = platform.python_version()
    figures["cpus"] = os.cpu_count()
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"code: {figures['code']}  (python {figures['python']}, {figures['cpus']} cpus"
          + (", without rich)" if args.without_rich else ")"))
    for name, label in (("help", "tickets --help"), ("show", "tickets show N")):
        f = figures[name]
        print(f"{label:<16} median {f['median_s']:.3f} s  (min {f['min_s']:.3f}, "
              f"max {f['max_s']:.3f}, {f['runs']} runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
