"""Long-running processes move their start-up objects out of the cyclic collector's reach."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from tickets import kafka_cli
from tickets.collector import freeze_startup_objects


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_objects_made_at_start_up_are_frozen_and_later_ones_are_not() -> None:
    startup = [[i] for i in range(1000)]
    frozen = freeze_startup_objects()
    assert frozen >= len(startup)
    later = [[i] for i in range(1000)]
    assert gc.get_freeze_count() == frozen
    assert gc.is_tracked(later[0])  # still the collector's: cycles made while running are freed
    assert len(later) == len(startup)


def test_a_kafka_process_freezes_after_building_and_before_running() -> None:
    seen: dict[str, int] = {}

    class Member:
        def run(self, stop: threading.Event) -> None:
            seen["frozen_when_running"] = gc.get_freeze_count()

    def build() -> Member:
        seen["frozen_when_building"] = gc.get_freeze_count()
        return Member()

    settings = SimpleNamespace(kafka_bootstrap_servers="127.0.0.1:9", log_format="console")
    args = SimpleNamespace(metrics_port=None, metrics_host="127.0.0.1")  # no metrics served
    kafka_cli._run(args, settings, build)  # type: ignore[arg-type]
    assert seen["frozen_when_building"] == 0
    assert seen["frozen_when_running"] > 0
