"""The embedded feed: follows the store's notification log and feeds the projections in-process.

SQLite offers no push subscription, so the feed pulls: it polls the log every ``poll_interval``
seconds (0.2 s by default, so events written by another process, such as the CLI, show within a
second), reads a batch, and applies it to every projection in one read-model transaction that
also records each projection's position. A stored event that cannot be read is kept in the
``set_aside`` table of every projection behind it, with the reason and its stored state, and the
feed goes on past it (``StoreReader.read_or_set_aside``); the store being away is waited out.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog

from tickets.consumers.store_reader import StoreReader
from tickets.projections.base import Projection
from tickets.projections.readstore import ReadStore
from tickets.projections.runner import (
    apply_batches,
    create_schema,
    position_of,
    record_unreadable,
    save_position,
)
from tickets.wire.envelope import Envelope

log = structlog.get_logger("tickets.feed")


@dataclass
class FeedStats:
    batches: int = 0
    events: int = 0
    set_aside: int = 0


class EmbeddedFeed:
    def __init__(
        self, reader: StoreReader, store: ReadStore, projections: Sequence[Projection], *,
        batch_size: int = 1000, poll_interval: float = 0.2,
        on_batch: Callable[[Sequence[Envelope]], None] | None = None,
        on_applied: Callable[[str, int], None] | None = None,
    ) -> None:
        self.reader = reader
        self.store = store
        self.projections = list(projections)
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.on_batch = on_batch
        self.on_applied = on_applied
        self.stats = FeedStats()
        create_schema(store, self.projections)

    def positions(self) -> dict[str, int]:
        """Each projection's position, read from a snapshot (no write lock taken)."""
        with self.store.snapshot() as tx:
            return {p.name: position_of(tx, p.name) for p in self.projections}

    def step(self) -> int:
        """Apply the next batch to every projection that is behind; return how many events."""
        positions = self.positions()
        start = min(positions.values(), default=0)
        batch, unreadable = self.reader.read_or_set_aside(start, self.batch_size)
        if not batch and not unreadable:
            return 0
        last = max([e.position for e in batch] + [u.position for u in unreadable])
        work = [(p, [e for e in batch if e.position > positions[p.name]]) for p in self.projections]
        work = [(projection, mine) for projection, mine in work if mine]
        applied = {projection.name: len(mine) for projection, mine in work}
        behind = [p.name for p in self.projections if positions[p.name] < last]
        with self.store.transaction(pipelined=True) as tx:
            for (projection, _), aside in zip(work, apply_batches(tx, work), strict=True):
                for item in aside:
                    log.warning("event_set_aside", projection=projection.name,
                                ticket_id=item.envelope.ticket_id, version=item.envelope.version,
                                position=item.envelope.position, reason=item.reason)
                self.stats.set_aside += len(aside)
            for lost in unreadable:
                log.error("stored_event_unreadable", position=lost.position, ticket_id=lost.ticket_id,
                          version=lost.version, topic=lost.topic, error=lost.reason.split(":")[0])
                record_unreadable(tx, [name for name in behind if lost.position > positions[name]], [lost])
            self.stats.set_aside += len(unreadable)
            for name in behind:
                save_position(tx, name, last)
        self.stats.batches += 1
        self.stats.events += len(batch)
        if self.on_applied is not None:
            for name, count in applied.items():
                self.on_applied(name, count)
        if self.on_batch is not None:
            self.on_batch(batch)
        return len(batch) + len(unreadable)

    def catch_up(self) -> int:
        """Apply everything in the log now; return how many events."""
        if not self.projections:
            return 0
        total = 0
        while (n := self.step()) > 0:
            total += n
        return total

    def run(self, stop: threading.Event) -> None:
        log.info("feed_started", projections=[p.name for p in self.projections],
                 positions=self.positions())
        while not stop.is_set():
            try:
                applied = self.step()
            except Exception:
                log.exception("feed_batch_failed")
                stop.wait(min(5.0, self.poll_interval * 10))
                continue
            if applied == 0:
                stop.wait(self.poll_interval)
            else:
                log.debug("feed_batch_applied", events=applied)
        log.info("feed_stopped", events=self.stats.events)

    def wait_until(self, position: int, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if min(self.positions().values(), default=0) >= position:
                return True
            time.sleep(0.01)
        return False
