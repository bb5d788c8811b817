"""Rebuild projections from the event store into fresh tables, resumable, in one or more parts.

Each part reads the log from its last durable position, keeps the tickets whose id falls in it
(``id % parts``), and writes them in big batches: one transaction per batch holds the rows and the
part's new position, so a rebuild stopped at any moment continues where it stopped when run again.

The projections are applied by the same runner and the same ``evolve`` and ``rows`` as the live feed
and the consumer groups (``projections.runner``), in its held mode: a part keeps every ticket's
applied version and state in memory from batch to batch instead of reading them back, works a
batch out before its transaction opens (so parts writing one SQLite file hold its lock only while
SQLite writes), and writes each ticket's rows once per batch. A ticket begun before an interrupted
run stopped is read back from the target's tables, as the live runner reads it.
Parts run in their own processes (each reads the log; each decodes only its tickets), which is
how a rebuild uses more than one core. When every part has reached the log's end, the
projections' positions are set, and the target can be swapped in or compared (``replay.swap``,
``replay.compare``). The source is ``replay.log_source.LogSource`` (the store's log, read raw and
sealed into audit rows), or ``tickets.events`` from offset 0 (``replay.kafka_source``), whose
envelopes come in through ``Sealed.of``, one at a time.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import queue
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from tickets.application.desk import TicketDesk
from tickets.domain.catalogue import Catalogue
from tickets.projections.base import Projection
from tickets.projections.readstore import ReadStore, Tx
from tickets.projections.runner import Held, plan, read_batches, reads_held
from tickets.replay.log_source import LogSource, Sealed
from tickets.replay.target import build_indexes, finish, open_target, prepare

if TYPE_CHECKING:  # a part imports no Kafka client and no progress bar (a part starts a new process)
    from tqdm import tqdm

    from tickets.consumers.kafka_settings import KafkaSettings
    from tickets.replay.kafka_source import KafkaSealedSource

#: SQLite page cache for the target, shared by the parts (the default 2 MiB thrashes on big tables).
SQLITE_CACHE_KIB = 512 * 1024
FULL_COLLECTION_EVERY = 50
#: Once a part has finished and every other part has read this share of the log, the indexes are
#: built while the last parts finish (SQLite targets; see ``_in_processes``).
INDEX_EARLY_SHARE = 0.5


@dataclass(frozen=True)
class Part:
    """What one part of a rebuild needs; plain data, so it can start in a process of its own."""

    store_env: dict[str, str]
    catalogue: Catalogue
    projections: Sequence[Projection]
    target_url: str
    part: int
    parts: int
    goal: int
    batch_size: int
    max_batches: int | None = None
    #: Read ``tickets.events`` from offset 0 instead of the store's log.
    kafka: KafkaSettings | None = None


class SealedSource(Protocol):
    #: The last read found the end of the part's events (False: the source cannot tell).
    at_end: bool

    def read(self, after: int, limit: int) -> tuple[list[Sealed], int]: ...


class Turns:
    """How parts in processes of their own and the rebuild's index builder share a SQLite target.

    A part says when it has read its last rows (what is left is working them out and one write),
    and counts itself among the writers from the moment it wants its write transaction until it
    has committed; the builder starts each index only while no part is counted, so a part waits
    for one index at most (SQLite hands its lock to whoever asks first, not to whoever waited).
    """

    def __init__(self, progress: Any, waiting: Any) -> None:
        self.progress = progress  # the queue the parts report on
        self.waiting = waiting  # a multiprocessing.Value: the parts counted as writers

    def last_read(self, part: int) -> None:
        self.progress.put(("last", part))

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self.waiting.get_lock():
            self.waiting.value += 1
        try:
            yield
        finally:
            with self.waiting.get_lock():
                self.waiting.value -= 1

    def writers_first(self) -> None:
        while self.waiting.value > 0:
            time.sleep(0.002)


@dataclass(frozen=True)
class Rebuilt:
    events: int
    seconds: float
    complete: bool
    position: int
    #: Events of tickets whose state was read back from the target (begun before a stop).
    read_back_events: int

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


def run_part(
    part: Part, report: Callable[[int, int], None], app: TicketDesk | None = None,
    held: Held | None = None, turns: Turns | None = None,
) -> tuple[int, int]:
    """Rebuild one part up to the goal; ``report(positions, events)`` after each batch.
    ``held``: where the part keeps its tickets' versions and states (the caller's, to keep them
    past the return); ``turns``: shared with other parts and an index builder (see ``Turns``).

    Returns (events applied, events of tickets whose state was read back from the target).
    """
    # The store's tables exist (the caller's desk made them); parts creating them at once on
    # PostgreSQL collide in its catalogue ("tuple concurrently updated").
    app = app or TicketDesk(part.catalogue, env={**part.store_env, "CREATE_TABLE": "no"})
    store = open_target(part.target_url, create=False)
    share = (part.part, part.parts) if part.parts > 1 else None
    from_kafka = None if part.kafka is None else _kafka_source(part.kafka, share, part.goal)
    source: SealedSource = LogSource(app, share) if from_kafka is None else from_kafka
    if store.dialect == "sqlite":
        _load_settings(store, part.parts)
    (after,) = (int(r[0]) for r in store.read(
        "SELECT position FROM rebuild_progress WHERE part = ?", (part.part,)))
    try:
        with _collector_paused():
            return _load(part, source, store, after, report, Held() if held is None else held,
                         turns)
    finally:
        store.close()
        if from_kafka is not None:
            from_kafka.close()


def _kafka_source(kafka: KafkaSettings, share: tuple[int, int] | None,
                  goal: int) -> KafkaSealedSource:
    from tickets.replay.kafka_source import KafkaSealedSource, KafkaSource

    return KafkaSealedSource(KafkaSource(kafka, share, until=goal))


def _load_settings(store: ReadStore, parts: int) -> None:
    """SQLite settings for a part's connection while it loads.

    A bigger page cache (the rows' keys arrive in random order), and no waiting for the disk at
    commit: the target stays in WAL mode, so a part killed at any moment leaves its last committed
    batch and the run continues from there, but an operating-system crash or power loss during
    the load can damage the file (start again with a fresh target then). A rebuild writes about a
    gigabyte per million events; waiting for it cost a tenth of the load's time.
    """
    store.read(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB // parts}")
    store.read("PRAGMA synchronous = OFF")


def _load(part: Part, source: SealedSource, store: ReadStore, after: int,
          report: Callable[[int, int], None], held: Held, turns: Turns | None) -> tuple[int, int]:
    events = read_back = batches = 0
    while after < part.goal and (part.max_batches is None or batches < part.max_batches):
        moved = _batch(part, source, store, after, held,
                       part.batch_size if batches else first_batch_size(part), turns)
        if moved is None:  # no ticket event is left below the goal
            with _writing(turns), store.transaction() as tx:
                _moved(tx, part.part, part.goal)
            report(part.goal - after, 0)
            break
        end, count, back = moved
        report(end - after, count)
        events, read_back = events + count, read_back + back
        after, batches = end, batches + 1
        if batches % FULL_COLLECTION_EVERY == 0:
            gc.collect()
    return events, read_back


def first_batch_size(part: Part) -> int:
    """Part k of n starts with (k + 1)/n of a batch.

    The parts work at about the same pace, and a SQLite target takes one writer at a time: begun
    in step, every part would finish working out its batch at the same moment and all but one
    would wait for the lock, batch after batch. Out of step, each writes while the others work
    out their next batch.
    """
    return max(1, part.batch_size * (part.part + 1) // part.parts)


def _batch(part: Part, source: SealedSource, store: ReadStore, after: int,
           held: Held, size: int, turns: Turns | None = None) -> tuple[int, int, int] | None:
    """Read, work out and write one batch: (its last position, events, events read back), or None
    at the end of the log. Everything the batch made but ``held`` goes when this returns, before
    the next batch is read, so a part's memory holds one batch at a time, not two."""
    # Events sealed from the store by this part hold their chain by construction; events from
    # ``tickets.events`` are checked by the group's admission, as the live group checks them.
    events_read, end = source.read(after, size)
    at_end = source.at_end
    if turns is not None and (end >= part.goal or at_end):
        turns.last_read(part.part)  # the rebuild counts each part once, however often it is said
    if end <= after:
        return None
    if at_end:  # none of the part's events is left up to the goal: the part is done with this batch
        end = max(end, part.goal)  # (rather than after one more read and a transaction of its own)
    envelopes = [event.envelope(sealed_here=part.kafka is None) for event in events_read]
    del events_read  # the envelopes carry the entries and rows
    work = [(projection, envelopes) for projection in part.projections]
    held_only = reads_held(work, held)
    planned = None if held_only is None else plan(held_only)
    read_back = 0
    with _writing(turns), store.transaction() as tx:
        if planned is None:  # tickets begun before a stop: read back inside the transaction
            reads = read_batches(tx, work, held)
            read_back = sum(1 for e in envelopes if e.ticket_id in reads.ids)
            planned = plan(reads)
        planned.write(tx)
        _moved(tx, part.part, end)
    return end, len(envelopes), read_back


def _writing(turns: Turns | None) -> Any:
    return nullcontext() if turns is None else turns.writing()


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while loading, and run by hand now and then.

    A rebuild holds every ticket's state (millions of long-lived objects); left to itself the
    collector scans them again and again as batches come and go, which cost a quarter of the
    rebuild's time (even collecting the young generations after each batch cost a tenth).
    Nothing a batch makes forms reference cycles but an exception's traceback, so reference
    counting frees it; a full collection every ``FULL_COLLECTION_EVERY`` batches takes the rest.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _moved(tx: Tx, part: int, position: int) -> None:
    tx.execute("UPDATE rebuild_progress SET position = ? WHERE part = ?", (position, part))


def _part_process(part: Part, progress: Any, turns: Turns | None) -> None:
    """A part in a process of its own. Done, it ends the process at once: freeing every ticket's
    state object by object (and the module caches) would take a few tenths of a second that the
    rebuild waits for, and the process's memory goes back to the system anyway."""
    held = Held()
    # Off for the process's life: ``_collector_paused`` would turn the collector back on as the
    # part returns, and its first pass would go through every object made since (the state of
    # every ticket held: a tenth of a second or more) just before the process ends.
    gc.disable()
    events, read_back = run_part(part, lambda positions, n: progress.put((positions, n)),
                                 held=held, turns=turns)
    progress.put(("done", events, read_back))
    progress.close()
    progress.join_thread()  # the message is written before the process ends
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def indexes_due(parts: int, read_all: int, finished: int, unread: int, left: int) -> bool:
    """Whether the index builder starts now (``_in_processes``): every part has read its last rows;
    or, from a source that cannot tell its end, a part is done (not all: then the end is near) and
    the parts have read ``INDEX_EARLY_SHARE`` of the ``left`` positions between them."""
    return read_all == parts or (0 < finished < parts and unread <= (1 - INDEX_EARLY_SHARE) * left)


def _in_processes(parts: list[Part], bar: tqdm[Any], left: int = 0,
                  early: Callable[[Callable[[], None]], None] | None = None) -> tuple[int, int]:
    """Run the parts in processes of their own. ``left``: the positions the parts have to read
    between them.

    ``early(writers_first)`` is called once, while the parts are finishing: when every part has
    read its last rows (all that is left is working them out and writing them: the indexes are
    built meanwhile, where they would otherwise be built after the last write, with a core idle),
    or, from a source that cannot tell, when a part is done and all of them have read
    ``INDEX_EARLY_SHARE`` of ``left``. ``writers_first`` waits while a part wants to write: call
    it before each index (see ``Turns``)."""
    context = multiprocessing.get_context("spawn")
    progress = context.Queue()
    turns = Turns(progress, context.Value("i", 0))
    workers = [context.Process(target=_part_process, args=(p, progress, turns), daemon=True)
               for p in parts]
    for worker in workers:
        worker.start()
    events = read_back = finished = 0
    unread = left
    read_all: set[int] = set()  # the parts that have read their last rows
    try:
        while finished < len(workers):
            try:
                message = progress.get(timeout=1.0)
            except queue.Empty:
                if any(w.exitcode not in (None, 0) for w in workers):
                    raise RuntimeError("a rebuild part failed; run again to continue") from None
                continue
            if message[0] == "done":
                finished += 1
                events, read_back = events + message[1], read_back + message[2]
            elif message[0] == "last":
                read_all.add(message[1])
            else:
                bar.update(message[0] / len(parts))
                unread -= message[0]
            if early is not None and indexes_due(len(workers), len(read_all), finished, unread, left):
                early(turns.writers_first)
                early = None
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
            worker.join()
    return events, read_back


def _kafka_goal(kafka: KafkaSettings) -> int:
    """The last position on ``tickets.events`` now: every part reads up to it."""
    from tickets.replay.kafka_source import KafkaSource

    source = KafkaSource(kafka)
    try:
        return source.max_position()
    finally:
        source.close()


def rebuild(
    app: TicketDesk, projections: Sequence[Projection], target_url: str, *, parts: int = 1,
    batch_size: int = 50_000, progress: bool = True, max_batches: int | None = None,
    kafka: KafkaSettings | None = None,
) -> Rebuilt:
    """Rebuild ``projections`` into ``target_url`` from ``app``'s event store (or, with ``kafka``,
    from ``tickets.events`` at offset 0), or continue doing so."""
    store = open_target(target_url)
    if dict(app.env).get("PERSISTENCE_MODULE") == "eventsourcing.popo":
        parts = 1  # an in-memory store cannot be read from another process
    positions = prepare(store, projections, parts)
    goal = (app.recorder.max_notification_id() or 0) if kafka is None else _kafka_goal(kafka)
    jobs = [Part(dict(app.env), app.catalogue, list(projections), target_url, p, len(positions),
                 goal, batch_size, max_batches, kafka) for p in positions]
    started = time.perf_counter()
    from tqdm import tqdm

    with tqdm(total=max(0, goal - min(positions.values())), unit="ev", disable=not progress,
              desc="rebuild", smoothing=0.1) as bar:
        if len(jobs) == 1:
            events, read_back = run_part(jobs[0], lambda positions, n: bar.update(positions), app)
        else:
            # On SQLite the indexes go in while the last part finishes (each index one
            # transaction: that part waits for one at most); on PostgreSQL they wait for the end.
            early = ((lambda writers_first: build_indexes(store, projections, writers_first))
                     if store.dialect == "sqlite" else None)
            left = sum(max(0, goal - position) for position in positions.values())
            events, read_back = _in_processes(jobs, bar, left, early)
    seconds = time.perf_counter() - started
    ends = [int(r[0]) for r in store.read("SELECT position FROM rebuild_progress")]
    complete = min(ends) >= goal
    if complete:
        finish(store, projections, min(ends))
    store.close()
    return Rebuilt(events, seconds, complete, min(ends), read_back)
