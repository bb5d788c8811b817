"""The engine counts what its feed applies and what its scheduler fires, for /metrics."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tickets.application.clock import VirtualClock
from tickets.config import load_settings
from tickets.domain.actor import Actor
from tickets.engine import build_engine
from tickets.metrics import EVENTS_APPLIED


def applied(projection: str) -> float:
    return EVENTS_APPLIED.labels(projection=projection)._value.get()


def test_the_engine_counts_events_applied_per_projection(tmp_path: Path) -> None:
    settings = load_settings({"TICKETS_HOME": str(tmp_path)})
    clock = VirtualClock(datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
    engine = build_engine(settings, clock, log_batches=False)
    before = {name: applied(name) for name in ("sla_timers", "audit_trail", "dashboard")}
    engine.desk.open(desk="o365", requester="c-1", requester_role="admin", title="T",
                     actor=Actor("service", "webform"), at=datetime(2026, 11, 16, 9, tzinfo=UTC))
    engine.catch_up()
    engine.close()
    assert {name: applied(name) - before[name] for name in before} == {
        "sla_timers": 1, "audit_trail": 1, "dashboard": 1}
