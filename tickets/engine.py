"""The embedded engine: the desk, the feed over every projection, and the scheduler, in one process.

``run_engine`` is what ``tickets run`` runs: one loop that applies the next batch of events to the
projections and, once the feed has caught up (or at least every ``tick_every`` seconds during a
long catch-up), lets the scheduler fire what is due. A stop request is seen between batches, so
the current batch always finishes; positions live in the read store, so a restart resumes where
the last run stopped.
"""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType

import structlog

from tickets import metrics
from tickets.application.clock import Clock, SystemClock
from tickets.application.desk import TicketDesk
from tickets.config import Settings
from tickets.consumers.feed import EmbeddedFeed
from tickets.consumers.scheduler import Scheduler
from tickets.consumers.store_reader import StoreReader
from tickets.privacy.retention import privacy_round
from tickets.projections.readstore import ReadStore
from tickets.projections_registry import all_projections
from tickets.wire.envelope import Envelope
from tickets.wiring import build_desk

log = structlog.get_logger("tickets.engine")

#: Errors worth waiting out (a busy database file, a dropped connection); anything else stops the loop.
RETRYABLE: tuple[type[BaseException], ...] = (sqlite3.OperationalError, ConnectionError, TimeoutError)


def _log_batch(batch: Sequence[Envelope]) -> None:
    log.info("batch_applied", events=len(batch), first_position=batch[0].position,
             last_position=batch[-1].position)


@dataclass
class Engine:
    desk: TicketDesk
    reader: StoreReader
    store: ReadStore
    feed: EmbeddedFeed
    scheduler: Scheduler
    clock: Clock

    def catch_up(self) -> int:
        """Apply every event in the store to the projections now; return how many."""
        return self.feed.catch_up()

    def close(self) -> None:
        self.store.close()
        self.desk.close()


def build_engine(
    settings: Settings, clock: Clock | None = None, *, batch_size: int = 1000,
    poll_interval: float = 0.2, log_batches: bool = True, desk: TicketDesk | None = None,
) -> Engine:
    """The engine's parts on ``settings``; pass ``desk`` to use one built elsewhere (a seeded demo)."""
    the_clock: Clock = clock or (desk.clock if desk is not None else SystemClock())
    desk = desk or build_desk(settings, clock=the_clock)
    reader = StoreReader(desk)
    store = ReadStore(settings.read_model_url)
    feed = EmbeddedFeed(
        reader, store, all_projections(desk.catalogue), batch_size=batch_size,
        poll_interval=poll_interval, on_batch=_log_batch if log_batches else None,
        on_applied=metrics.events_applied,
    )
    scheduler = Scheduler(desk, store, the_clock, housekeeping=privacy_round(desk))
    return Engine(desk, reader, store, feed, scheduler, the_clock)


@dataclass
class RunStats:
    batches: int = 0
    events: int = 0
    ticks: int = 0
    fired: dict[str, int] = field(default_factory=dict)


def run_engine(
    settings: Settings, stop: threading.Event, clock: Clock | None = None, *,
    poll: float = 0.2, tick_every: float = 5.0, engine: Engine | None = None,
) -> RunStats:
    """Feed the projections and fire due timers until ``stop`` is set; then close everything."""
    engine = engine or build_engine(settings, clock, poll_interval=poll)
    stats = RunStats()
    log.info("engine_started", positions=engine.feed.positions(), poll=poll)
    last_tick = 0.0
    try:
        while not stop.is_set():
            try:
                applied = engine.feed.step()
                stats.events += applied
                stats.batches += applied > 0
                if applied >= engine.feed.batch_size and time.monotonic() - last_tick < tick_every:
                    continue  # still catching up: timers read from a stale projection wait
                last_tick = time.monotonic()
                _tick(engine.scheduler, stats)
            except RETRYABLE as error:
                log.warning("engine_step_retry", error=type(error).__name__, detail=str(error))
                stop.wait(min(5.0, poll * 10))
                continue
            if applied == 0:
                stop.wait(poll)
    except Exception:
        log.exception("engine_failed")
        raise
    finally:
        report_stop_signals()
        log.info("engine_stopped", events=stats.events, batches=stats.batches,
                 fired=stats.fired, positions=engine.feed.positions())
        engine.close()
    return stats


def _tick(scheduler: Scheduler, stats: RunStats) -> None:
    fired = scheduler.tick()
    stats.ticks += 1
    for item in fired:
        stats.fired[item.outcome] = stats.fired.get(item.outcome, 0) + 1
        metrics.timer_fired(item.outcome)
    if fired:
        log.info("timers_fired", count=len(fired),
                 fired=sum(1 for f in fired if f.outcome == "fired"),
                 refused=sum(1 for f in fired if f.outcome.startswith("refused")),
                 conflicts=sum(1 for f in fired if f.outcome == "conflict"))


_stop_signals: list[str] = []


def install_stop_signals(stop: threading.Event) -> Callable[[], None]:
    """SIGINT and SIGTERM set ``stop`` (main thread only); returns a function that restores them.

    The handler only sets the event and notes the signal: it must not log, since the signal may
    arrive while the main thread is inside the logger, holding the lock the handler would wait on.
    ``report_stop_signals`` logs them later, from the loop.
    """

    def handler(signum: int, frame: FrameType | None) -> None:
        _stop_signals.append(signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)
        report_stop_signals()

    return restore


def report_stop_signals() -> None:
    """Log the stop signals received since the last report (outside any signal handler)."""
    while _stop_signals:
        log.info("stop_requested", signal=_stop_signals.pop(0))
