"""How fast is business-time arithmetic? Run: ``python benchmarks/bench_calendar.py [--json]``.

Times ``BusinessCalendar.add`` of 5 working days and ``business_time`` over a week on the Dutch
office calendar (Monday to Friday 09:00-17:00 Europe/Amsterdam, NL holidays), from starts spread
over four years (2024-2027) at any time of day, so weekends, holidays, DST changes and year ends
all occur. Figures are the best of ``--repeat`` runs:

* warm: every date already cached (the steady state of a running engine);
* cold: the first pass after all caches are cleared (days and holiday years filled on the way);
* uncached: the caches are cleared before every single call (the worst case, per call).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time

from tickets.domain.calendar import BusinessCalendar, Pause, clear_caches

NL_OFFICE = BusinessCalendar(
    "nl-office", "Europe/Amsterdam", {day: ((clock_time(9), clock_time(17)),) for day in range(5)},
    holiday_country="NL",
)
FIRST = datetime(2024, 1, 1, tzinfo=UTC)
SPAN_SECONDS = 4 * 365 * 86_400


def make_starts(n: int, seed: int) -> list[datetime]:
    rng = random.Random(seed)
    return [FIRST + timedelta(seconds=rng.randrange(SPAN_SECONDS)) for _ in range(n)]


def make_pauses(starts: list[datetime], seed: int) -> list[list[Pause]]:
    """Two pauses per start: waiting on the customer for a few hours, twice in the first week."""
    rng = random.Random(seed)
    result: list[list[Pause]] = []
    for start in starts:
        first = start + timedelta(hours=rng.randrange(1, 48))
        second = first + timedelta(hours=rng.randrange(12, 96))
        result.append([
            (first, first + timedelta(minutes=rng.randrange(10, 600))),
            (second, second + timedelta(minutes=rng.randrange(10, 600))),
        ])
    return result


def best_rate(run: Callable[[], int], repeat: int, before: Callable[[], None] | None = None) -> float:
    """Operations per second of the fastest of ``repeat`` runs of ``run`` (which returns its count)."""
    best = 0.0
    for _ in range(repeat):
        if before is not None:
            before()
        began = time.perf_counter()
        count = run()
        elapsed = time.perf_counter() - began
        best = max(best, count / elapsed)
    return best


def measure(n: int, repeat: int, seed: int) -> dict[str, float]:
    cal = NL_OFFICE
    five_days = cal.working_days(5)
    week = timedelta(days=7)
    starts = make_starts(n, seed)
    pauses = make_pauses(starts, seed + 1)
    add = cal.add
    business_time = cal.business_time

    def adds() -> int:
        for start in starts:
            add(start, five_days)
        return len(starts)

    def adds_paused() -> int:
        for start, held in zip(starts, pauses, strict=True):
            add(start, five_days, held)
        return len(starts)

    def spans() -> int:
        for start in starts:
            business_time(start, start + week)
        return len(starts)

    sample = starts[: max(1, n // 100)]

    def adds_uncached() -> int:
        for start in sample:
            clear_caches()
            add(start, five_days)
        return len(sample)

    adds()  # warm every date once
    results = {
        "calendar.add 5 working days (warm)": best_rate(adds, repeat),
        "calendar.add 5 working days (cold, first pass)": best_rate(adds, repeat, clear_caches),
        "calendar.add 5 working days (uncached, every call)": best_rate(adds_uncached, repeat),
        "calendar.add 5 working days with 2 pauses (warm)": best_rate(adds_paused, repeat),
        "calendar.business_time over 7 days (warm)": best_rate(spans, repeat),
        "calendar.business_time over 7 days (cold, first pass)": best_rate(
            spans, repeat, clear_caches
        ),
    }
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-n", type=int, default=200_000, help="calls per run (default 200,000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the best counts")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", action="store_true", help="print machine-readable results")
    args = parser.parse_args(argv)
    results = measure(args.n, args.repeat, args.seed)
    if args.json:
        report = {
            "calls_per_run": args.n,
            "repeat": args.repeat,
            "unit": "ops/s",
            "results": {name: round(rate) for name, rate in results.items()},
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
        }
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for name, rate in results.items():
            sys.stdout.write(f"{name}: {rate:,.0f} ops/s\n")
        sys.stdout.write(
            f"({args.n:,} calls per run, best of {args.repeat}, {os.cpu_count()} CPUs, "
            f"Python {platform.python_version()})\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
