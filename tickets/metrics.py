"""Counters that the engine's moving parts bump, for Prometheus (served at ``/metrics``).

Call sites stay one line and know nothing of Prometheus: the feed calls
``events_applied(projection, n)`` after it applies a batch, the scheduler calls
``timer_fired(outcome)`` for each action it sends. The counters live in prometheus-client's default
registry, created once per process, so any number of feeds, schedulers or HTTP apps share them.
"""

from __future__ import annotations

from prometheus_client import Counter

EVENTS_APPLIED = Counter(
    "tickets_events_applied", "Events applied to a projection by this process.", ["projection"]
)
TIMERS_FIRED = Counter(
    "tickets_timers_fired",
    "Timer actions the scheduler sent, by outcome (fired, refused:<rule>, conflict).", ["outcome"],
)

RECORDS_PARKED = Counter(
    "tickets_records_parked",
    "Records parked on tickets.dlq because what had to be written about them was refused "
    "(see docs/kafka.md, Parked records), by consumer group.", ["group"],
)


def events_applied(projection: str, count: int) -> None:
    """Count ``count`` events applied to ``projection`` (call after the batch is committed)."""
    if count > 0:
        EVENTS_APPLIED.labels(projection=projection).inc(count)


def timer_fired(outcome: str, count: int = 1) -> None:
    """Count a timer action the scheduler sent; ``outcome`` as in ``consumers.scheduler.Fired``."""
    if count > 0:
        TIMERS_FIRED.labels(outcome=_outcome_label(outcome)).inc(count)


def _outcome_label(outcome: str) -> str:
    """Bound the label's values: the rule after ``refused:`` comes from a fixed set in the domain."""
    return outcome if len(outcome) <= 64 else outcome[:64]


def record_parked(group: str) -> None:
    """Count a record parked by consumer group ``group`` (``consumers.parking``)."""
    RECORDS_PARKED.labels(group=group).inc()
