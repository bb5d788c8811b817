"""The dashboard figures as of a query time, from the dashboard's counters and per-ticket rows.

Counts that do not move with time come from the counters the projection keeps
(``dashboard_counts``). Live tickets (a running SLA clock) are counted at query time by index range
counts of the stored ``risk_at`` and ``breach_at`` up to ``now``, so "at risk since 10:45" is right
without an event. Percentiles are nearest-rank (the value at rank ceil(p/100 * n) in ascending
order): the counters per first-response bucket locate the rank's bucket, and an ordered read of
that bucket's index range steps to it (every group's ranks in one statement).

``figures_cached`` keeps the last few results per store, keyed by the read model's position and
``now`` truncated to the minute (the figures are then computed as of that minute's start), so a
dashboard polled by many readers counts once per change or minute.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple
from weakref import WeakKeyDictionary

from tickets.projections.dashboard_state import day_of, hour_of
from tickets.projections.readstore import ReadStore, Tx
from tickets.wire.envelope import format_time

PERCENTILES = (50, 90, 99)
CACHED_RESULTS = 4


class OpenCount(NamedTuple):
    desk: str
    severity: str
    status: str
    tickets: int


class SlaFigure(NamedTuple):
    """Tickets by their worst SLA clock as of ``now`` (closed tickets count as met or breached)."""

    desk: str
    severity: str
    met: int
    at_risk: int
    breached: int
    running: int


class FirstResponseFigure(NamedTuple):
    """Business seconds the first-response clock used, over tickets that had a first response."""

    desk: str
    severity: str
    tickets: int
    p50: float
    p90: float
    p99: float


@dataclass(frozen=True)
class Figures:
    open_by_desk_severity_status: list[OpenCount]
    sla: list[SlaFigure]
    first_response: list[FirstResponseFigure]
    as_of: datetime | None = None


Group = tuple[str, str]


def rank(p: int, n: int) -> int:
    """The 1-based nearest rank of the p-th percentile of n values."""
    return max(1, -(-p * n // 100))


def _counts(tx: Tx) -> dict[str, dict[Group, dict[str, int]]]:
    """kind → (desk, severity) → key → tickets, from the counters (a few rows per group)."""
    counts: dict[str, dict[Group, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for kind, desk, severity, key, tickets in tx.execute(
        "SELECT kind, desk, severity, key, tickets FROM dashboard_counts "
        "WHERE kind IN ('status', 'sla', 'live', 'first_response') AND tickets > 0"
    ):
        counts[kind][(desk, severity)][key] = int(tickets)
    return counts


def _live_by(tx: Tx, column: str, at: str) -> Counter[Group]:
    """Live tickets per group whose ``risk_at`` (or ``breach_at``) is at or before ``at``.

    Earlier days come from the daily counters, earlier hours of the day from the hourly ones, and
    only the current hour's tickets are counted from the index: the cost stays small however many
    tickets are overdue.
    """
    kind, day, hour = column.removesuffix("_at"), day_of(at), hour_of(at)
    found: Counter[Group] = Counter()
    for desk, severity, tickets in [
        *tx.execute("SELECT desk, severity, SUM(tickets) FROM dashboard_counts "
                    "WHERE kind = ? AND key < ? GROUP BY desk, severity", (f"{kind}_day", day)),
        *tx.execute("SELECT desk, severity, SUM(tickets) FROM dashboard_counts "
                    "WHERE kind = ? AND key >= ? AND key < ? GROUP BY desk, severity",
                    (f"{kind}_hour", day, hour)),
        *tx.execute(f"SELECT desk, severity, COUNT(*) FROM dashboard_tickets WHERE {column} >= ? "
                    f"AND {column} <= ? GROUP BY desk, severity", (f"{hour}:00:00.000000Z", at)),
    ]:
        found[(desk, severity)] += int(tickets)
    return found


def _sla(tx: Tx, counts: dict[str, dict[Group, dict[str, int]]], at: str
         ) -> list[SlaFigure]:
    risky, breached = _live_by(tx, "risk_at", at), _live_by(tx, "breach_at", at)
    result = []
    for group in sorted(set(counts["sla"]) | set(counts["live"])):
        static = counts["sla"].get(group, {})
        live = counts["live"].get(group, {}).get("", 0)
        result.append(SlaFigure(
            *group, met=static.get("met", 0), at_risk=risky[group] - breached[group],
            breached=static.get("breached", 0) + breached[group],
            running=static.get("running", 0) + live - risky[group],
        ))
    return result


#: Ranks looked up per statement (``_values_at``): each is one scalar subquery with 5 parameters.
RANKS_PER_STATEMENT = 100


def _bucket_of(buckets: list[tuple[int, int]], wanted: int) -> tuple[int, int]:
    """The bucket holding 1-based rank ``wanted`` by the counters, and the rank's offset in it."""
    before = 0
    for bucket, tickets in buckets:
        if before + tickets >= wanted:
            return bucket, wanted - before - 1
        before += tickets
    raise LookupError(f"rank {wanted} past the counters' {before} tickets")


def _values_at(tx: Tx, lookups: list[tuple[Group, int, int]]) -> list[float]:
    """The value at each (group, bucket, offset): an ordered read of the bucket's index range,
    stepping to the offset; all of them in a few statements (one per ``RANKS_PER_STATEMENT``),
    not a round trip each."""
    values: list[float] = []
    for start in range(0, len(lookups), RANKS_PER_STATEMENT):
        part = lookups[start:start + RANKS_PER_STATEMENT]
        sql = " UNION ALL ".join(
            f"SELECT {i}, (SELECT first_response_seconds FROM dashboard_tickets WHERE desk = ? "
            "AND severity = ? AND fr_bucket = ? ORDER BY first_response_seconds LIMIT 1 OFFSET ?)"
            for i in range(len(part)))
        found = dict(tx.execute(sql, [v for (group, bucket, offset) in part
                                      for v in (*group, bucket, offset)]))
        for i, (group, bucket, offset) in enumerate(part):
            if found.get(i) is None:
                raise LookupError(f"offset {offset} of bucket {bucket} of {group}: "
                                  "the counters and the rows disagree")
            values.append(float(found[i]))
    return values


def _first_response(tx: Tx, counts: dict[str, dict[Group, dict[str, int]]]
                    ) -> list[FirstResponseFigure]:
    groups = []
    lookups: list[tuple[Group, int, int]] = []
    for group, by_bucket in sorted(counts["first_response"].items()):
        buckets = sorted((int(key), tickets) for key, tickets in by_bucket.items())
        n = sum(tickets for _, tickets in buckets)
        groups.append((group, n))
        lookups += [(group, *_bucket_of(buckets, rank(p, n))) for p in PERCENTILES]
    values = iter(_values_at(tx, lookups))
    return [FirstResponseFigure(*group, n, *(next(values) for _ in PERCENTILES)) for group, n in groups]


def figures(store: ReadStore, now: datetime) -> Figures:
    """The dashboard as of ``now``.

    Read from one snapshot, so the counters and the rows agree, without taking the write lock.
    """
    with store.snapshot() as tx:
        counts = _counts(tx)
        open_counts = [
            OpenCount(*group, status, tickets)
            for group, by_status in sorted(counts["status"].items())
            for status, tickets in sorted(by_status.items())
        ]
        return Figures(open_counts, _sla(tx, counts, format_time(now)),
                       _first_response(tx, counts), as_of=now)


_caches: WeakKeyDictionary[ReadStore, OrderedDict[tuple[int, datetime], Figures]] = (
    WeakKeyDictionary()
)
_lock = threading.Lock()


def dashboard_position(store: ReadStore) -> int:
    """The dashboard read model's position: the key ``figures_cached`` wants."""
    rows = store.read("SELECT position FROM projection_positions WHERE projection = 'dashboard'")
    return int(rows[0][0]) if rows else 0


def figures_cached(store: ReadStore, now: datetime, position: int) -> Figures:
    """``figures`` as of the start of ``now``'s minute, computed once per (position, minute)."""
    minute = now.replace(second=0, microsecond=0)
    key = (position, minute)
    with _lock:
        cache = _caches.setdefault(store, OrderedDict())
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
    result = figures(store, minute)
    with _lock:
        cache[key] = result
        while len(cache) > CACHED_RESULTS:
            cache.popitem(last=False)
    return result
