"""Data for the Kafka benchmarks: an event store on PostgreSQL filled quickly, and its envelopes.

Writing through ``TicketDesk`` on PostgreSQL runs at a few hundred commands a second here, too
slow to fill a store with tens of thousands of events for every run. So the ticket lives are
written through a desk on the in-memory store (the same commands, the same events), and the
stored events are then copied into the PostgreSQL recorder a thousand at a time: the PostgreSQL
store ends up holding exactly what the desk would have written there, in the same order.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tickets.application.clock import VirtualClock
from tickets.application.desk import TicketDesk
from tickets.application.policy_files import load_catalogue
from tickets.sample_lives import EVENTS_PER_LIFE, desk_clock_start, register_editors, write_lives


def memory_desk() -> TicketDesk:
    return TicketDesk(load_catalogue(), clock=VirtualClock(desk_clock_start()),
                      env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, rng=random.Random(1))


def fill_store(env: dict[str, str], events: int, interleave: int = 50) -> tuple[TicketDesk, int, float]:
    """A desk on ``env`` (PostgreSQL) holding about ``events`` ticket events; (desk, events, seconds)."""
    began = time.perf_counter()
    source = memory_desk()
    register_editors(source)
    written = write_lives(source, max(1, events // EVENTS_PER_LIFE), interleave=interleave)
    target = TicketDesk(load_catalogue(), clock=VirtualClock(desk_clock_start()), env=env)
    start = 1
    while True:
        stored: list[Any] = list(source.recorder.select_notifications(start=start, limit=1000))
        if not stored:
            break
        target.recorder.insert_events(stored)
        start = stored[-1].id + 1
    source.close()
    return target, written, time.perf_counter() - began
