"""Build the Kafka processes from settings: the publisher, a projections group member, a scheduler member."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tickets import metrics
from tickets.application.clock import Clock, SystemClock
from tickets.config import Settings
from tickets.consumers.kafka_runner import GroupRunner
from tickets.consumers.kafka_settings import KafkaSettings, partition_for, ticket_key
from tickets.consumers.partition_scheduler import PartitionScheduler
from tickets.consumers.publisher import Publisher
from tickets.consumers.publisher_state import postgres_conninfo, publisher_state
from tickets.consumers.read_ahead import ProcessReadAhead, ReadAhead, ThreadReadAhead
from tickets.consumers.scheduler_timers import SchedulerTimersProjection
from tickets.consumers.store_reader import StoreReader
from tickets.consumers.store_wake import store_wake
from tickets.domain.catalogue import Catalogue
from tickets.privacy.retention import privacy_round
from tickets.projections.base import Projection
from tickets.projections.readstore import ReadStore
from tickets.projections_registry import all_projections
from tickets.wiring import build_catalogue, build_desk

PROJECTIONS_GROUP = "projections"
SCHEDULER_GROUP = "scheduler"


def kafka_settings(settings: Settings, **overrides: Any) -> KafkaSettings:
    return KafkaSettings.of(settings, **overrides)


def build_publisher(settings: Settings, *, batch_size: int = 2000, read_process: bool = True,
                    **overrides: Any) -> Publisher:
    """The publisher on the configured store: reading in a child process unless ``read_process`` is off.

    On PostgreSQL it wakes on the store's NOTIFY and polls every quarter second as a fallback;
    elsewhere it polls every 20 ms.
    """
    kafka = kafka_settings(settings, **overrides)
    catalogue = build_catalogue(settings)
    desk = build_desk(settings, catalogue=catalogue)  # creates the store's tables if need be
    state = publisher_state(settings.database_url, f"events:{kafka.topics.events}")
    ahead: ReadAhead
    if read_process:
        ahead = ProcessReadAhead(catalogue, settings.event_store_env())
        desk.close()
    else:
        ahead = ThreadReadAhead(StoreReader(desk))
    on_postgres = settings.database_url.startswith(("postgresql://", "postgres://"))
    wake = store_wake(desk.recorder, postgres_conninfo(settings.database_url)[0] if on_postgres else None)
    return Publisher(ahead, state, kafka, batch_size=batch_size, wake=wake,
                     poll_interval=0.25 if on_postgres else 0.02)


def select_projections(settings: Settings, names: Sequence[str] = ()) -> list[Projection]:
    """The named projections (all four when none are named), in the registry's order."""
    every = all_projections(build_catalogue(settings))
    known = {p.name for p in every}
    unknown = sorted(set(names) - known)
    if unknown:
        raise ValueError(f"unknown projection(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return [p for p in every if not names or p.name in names]


def build_consumer(settings: Settings, group: str = PROJECTIONS_GROUP, names: Sequence[str] = (),
                   **overrides: Any) -> GroupRunner:
    kafka = kafka_settings(settings, **overrides)
    store = ReadStore(settings.read_model_url)
    return GroupRunner(kafka, group, store, select_projections(settings, names),
                       on_applied=metrics.events_applied, on_parked=metrics.record_parked,
                       desks=desk_ids(build_catalogue(settings)), record_changes=True)


def desk_ids(catalogue: Catalogue) -> frozenset[str]:
    """The desks a consumer accepts envelopes of (``projections.envelope.decode``'s ``desks``)."""
    return frozenset(desk.id for desk in catalogue.desks())


class _Partitions:
    """A ticket's partition on ``tickets.events``, once the runner knows how many there are."""

    def __init__(self) -> None:
        self.count = 0

    def of(self, ticket_id: str) -> int:
        if self.count <= 0:
            raise RuntimeError("the partition count is not known yet")
        return partition_for(ticket_key(ticket_id), self.count)


def build_scheduler_member(
    settings: Settings, clock: Clock | None = None, group: str = SCHEDULER_GROUP, *,
    tick_every: float = 1.0, **overrides: Any,
) -> tuple[GroupRunner, PartitionScheduler]:
    """A scheduler group member: its own timer state for its partitions, and the ticks that fire them."""
    the_clock = clock or SystemClock()
    kafka = kafka_settings(settings, **overrides)
    catalogue = build_catalogue(settings)
    desk = build_desk(settings, clock=the_clock, catalogue=catalogue)
    store = ReadStore(settings.read_model_url)
    partitions = _Partitions()
    scheduler = PartitionScheduler(desk, store, the_clock, housekeeping=privacy_round(desk))
    runner = GroupRunner(kafka, group, store, [SchedulerTimersProjection(catalogue, partitions.of)],
                         tick=lambda owned: _tick(scheduler, owned), tick_every=tick_every,
                         on_parked=metrics.record_parked, desks=desk_ids(catalogue))
    partitions.count = runner.partition_count()
    return runner, scheduler


def _tick(scheduler: PartitionScheduler, owned: frozenset[int]) -> None:
    if owned:
        scheduler.tick(owned)
