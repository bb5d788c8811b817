"""The consumer-group runner: ``tickets.events`` into projections, offsets stored with the rows.

One loop per process: poll a batch, sort it (``consumers.kafka_batch``), send what cannot be
decoded, breaks the envelope's schema, or is not signed by a configured key (``consumers.signing``)
to ``tickets.dlq`` (``consumers.dead_letter_sender``: acknowledged before anything is stored, so a
dead letter is never lost, a crash may send it twice; one the broker keeps refusing is parked),
then in ONE read-store transaction advance the partitions' offsets (``consumers.consumer_offsets``,
which also fences a member that lost its partitions) and apply the envelopes to every projection
through ``read_batches``/``apply_read`` (the group's admission, ``projections.admission``, skips
duplicates and sets aside a gap, a hash that is not the content's and a broken link, for every
projection together), the offsets' statements sent with the projections' reads (on PostgreSQL a
pipelined transaction: two round trips a batch), and on PostgreSQL a ``NOTIFY`` on
``tickets_read_model`` naming the group, delivered when the batch commits. Only after that commit
are the offsets committed to Kafka too, without waiting and at most once per
``commit_interval_ms``, for lag tools; the read store is the truth: on assignment the runner seeks
to the stored offsets, and to the beginning of a partition it has none for.

The rebalance listener is called while the loop's thread waits in ``poll`` (kafka-python 3 runs it
on its IO thread), so no batch is in flight when partitions are revoked: every batch is committed
before the next poll. Should a member lose a partition in the middle of a batch anyway (a long
pause past the session timeout), the offset fence rolls that batch back. Auto-commit is off.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
import threading
import time
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
import structlog
from kafka import ConsumerRebalanceListener, KafkaConsumer, OffsetAndMetadata, TopicPartition
from kafka.errors import KafkaError

from tickets.consumers import change_log, parking
from tickets.consumers.commit_pacing import PacedCommits
from tickets.consumers.consumer_offsets import OffsetsMoved, create_table, send_advance, stored_offsets
from tickets.consumers.dead_letter_sender import DeadLetterSender
from tickets.consumers.kafka_batch import PolledBatch, sort_records
from tickets.consumers.kafka_settings import KafkaSettings
from tickets.projections.base import Projection
from tickets.projections.readstore import READ_MODEL_CHANNEL, ReadStore
from tickets.projections.runner import apply_read, create_schema, read_batches
from tickets.wire.envelope import decode

log = structlog.get_logger("tickets.consumer")

#: Errors worth waiting out (a database restarting, a dropped connection); anything else stops the member.
RETRYABLE: tuple[type[BaseException], ...] = (
    sqlite3.OperationalError, psycopg.OperationalError, ConnectionError, TimeoutError,
)

#: Called in the loop's thread after each batch and when idle, with the partitions owned now.
Tick = Callable[[frozenset[int]], None]


@dataclass
class RunnerStats:
    batches: int = 0
    events: int = 0
    dead_letters: int = 0
    set_aside: int = 0
    fenced: int = 0
    parked: int = 0


class _Listener(ConsumerRebalanceListener):
    def __init__(self, runner: GroupRunner) -> None:
        self.runner = runner

    def on_partitions_revoked(self, revoked: Any) -> None:
        self.runner.release(revoked)

    def on_partitions_assigned(self, assigned: Any) -> None:
        self.runner.take(assigned)

    def on_partitions_lost(self, lost: Any) -> None:
        self.runner.release(lost)


class GroupRunner:
    """A member of consumer group ``settings.topic_prefix + group`` applying ``projections``."""

    def __init__(
        self, settings: KafkaSettings, group: str, store: ReadStore,
        projections: Sequence[Projection], *, tick: Tick | None = None, tick_every: float = 1.0,
        consumer_overrides: dict[str, Any] | None = None,
        producer_overrides: dict[str, Any] | None = None,
        on_applied: Callable[[str, int], None] | None = None,
        on_parked: parking.OnParked | None = None, desks: Container[str] | None = None,
        record_changes: bool = False,
    ) -> None:
        self.settings = settings
        #: Keep each applied envelope in ``consumers.change_log`` (the projections group does).
        self.record_changes = record_changes
        self.on_applied = on_applied
        #: Envelopes of other desks than these (when given: the catalogue's) are dead letters.
        self._decode = functools.partial(decode, desks=desks)
        self.group_id = settings.topic_prefix + group
        self.topic = settings.topics.events
        self.store = store
        self.projections = list(projections)
        self.tick = tick
        self.tick_every = tick_every
        self.stats = RunnerStats()
        self._owned: dict[int, int | None] = {}  # partition -> next offset as stored (None: no row)
        self._dead_letters = DeadLetterSender(settings, self.group_id, on_parked=on_parked,
                                              producer_overrides=producer_overrides)
        self._rewind = False
        self._to_commit = PacedCommits(settings.commit_interval_ms / 1000)
        _create_tables(store, self.projections, record_changes)
        self.consumer = KafkaConsumer(**settings.consumer_config(self.group_id, **(consumer_overrides or {})))
        self.consumer.subscribe([self.topic], listener=_Listener(self))
        self.log = log.bind(group=self.group_id, topic=self.topic)

    # ---- assignment ---------------------------------------------------------------------

    def owned(self) -> frozenset[int]:
        return frozenset(self._owned.copy())  # read from other threads too (tests, tools)

    def partition_count(self) -> int:
        partitions = self.consumer.partitions_for_topic(self.topic)
        if not partitions:
            raise RuntimeError(f"topic {self.topic} has no partitions (does it exist?)")
        return len(partitions)

    def take(self, assigned: Any) -> None:
        """Seek each assigned partition to the offset stored in the read store."""
        mine = [tp for tp in assigned if tp.topic == self.topic]
        stored = self._stored([tp.partition for tp in mine])
        for tp in mine:
            offset = stored.get(tp.partition)
            if offset is None:
                self.consumer.seek_to_beginning(tp)
            else:
                self.consumer.seek(tp, offset)
            self._owned[tp.partition] = offset
        self.log.info("partitions_assigned", partitions=sorted(tp.partition for tp in mine),
                      offsets={str(p): o for p, o in sorted(stored.items())})

    def _stored(self, partitions: list[int]) -> dict[int, int]:
        """The stored offsets. The listener runs on kafka-python's IO thread, which has a read-store
        connection of its own: one that broke since the last rebalance is replaced once."""
        for attempt in (1, 2):
            try:
                with self.store.transaction() as tx:
                    return stored_offsets(tx, self.group_id, self.topic, partitions)
            except RETRYABLE:
                if attempt == 2:
                    raise
                with contextlib.suppress(Exception):
                    self.store.close()
        raise AssertionError("unreachable")

    def release(self, revoked: Any) -> None:
        """Nothing is in flight (see the module's docstring): forget the partitions."""
        gone = sorted(tp.partition for tp in revoked if tp.topic == self.topic)
        for partition in gone:
            self._owned.pop(partition, None)
        self.log.info("partitions_revoked", partitions=gone)

    # ---- the loop -----------------------------------------------------------------------

    def step(self, timeout_ms: int = 100) -> int:
        """Poll once and store what came; return how many records were consumed."""
        polled = self.consumer.poll(timeout_ms=timeout_ms)
        if not polled:
            self._commit_due()
            return 0
        owned = self._owned.copy()
        batch = sort_records({tp: rs for tp, rs in polled.items() if tp.partition in owned},
                             self._decode, self.settings.signing)
        if batch.records == 0:
            return 0
        if batch.dead:  # acknowledged (or parked) before anything is stored; never lost
            self.stats.parked += self._dead_letters.send(batch.dead)
            self.stats.dead_letters += len(batch.dead)
        moves = {p: (owned[p], n) for p, n in batch.next_offsets.items()}
        try:
            self._store(batch, moves)
        except OffsetsMoved as moved:
            self.stats.fenced += 1
            self.log.warning("offsets_moved_elsewhere", partition=moved.partition, expected=moved.expected)
            self.take([TopicPartition(self.topic, p) for p in sorted(self._owned)])
            return 0
        for partition, (_, new) in moves.items():
            if partition in self._owned:
                self._owned[partition] = new
        self._to_commit.add({TopicPartition(self.topic, p): OffsetAndMetadata(new, "", -1)
                             for p, (_, new) in moves.items()})
        self._commit_due()
        if self.on_applied is not None and batch.envelopes:
            for projection in self.projections:
                self.on_applied(projection.name, len(batch.envelopes))
        self.stats.batches += 1
        self.stats.events += len(batch.envelopes)
        self.log.debug("batch_applied", records=batch.records, events=len(batch.envelopes),
                       dead_letters=len(batch.dead))
        return batch.records

    def _store(self, batch: PolledBatch, moves: dict[int, tuple[int | None, int]]) -> None:
        """Offsets and every projection in one pipelined transaction: two round trips on PostgreSQL
        (the offsets' fence with every read, then the writes with the commit), whatever the batch."""
        with self.store.transaction(pipelined=True) as tx:
            moved = send_advance(tx, self.group_id, self.topic, moves)
            reads = read_batches(tx, [(p, batch.envelopes) for p in self.projections])
            moved()
            if not batch.envelopes:
                return
            tx.announce(READ_MODEL_CHANNEL, self.group_id)
            if self.record_changes:
                change_log.record(tx, self.group_id, self.topic, batch.envelopes, batch.origins, moves)
            for projection, aside in zip(self.projections, apply_read(tx, reads), strict=True):
                for item in aside:
                    self.stats.set_aside += 1
                    self.log.warning("event_set_aside", projection=projection.name,
                                     ticket_id=item.envelope.ticket_id, version=item.envelope.version,
                                     position=item.envelope.position, reason=item.reason)

    def _commit_due(self) -> None:
        """Tell Kafka the offsets too, for lag tools, without waiting and at most once per interval:
        the read store holds the truth (the runner seeks to it on assignment), so a commit lost,
        late or refused costs nothing but a stale lag figure, and waiting for it would add a broker
        round trip to every batch."""
        if not self._to_commit:
            return
        offsets = self._to_commit.due(TopicPartition(self.topic, p) for p in self._owned.copy())
        if not offsets:
            return
        try:
            self.consumer.commit_async(offsets, callback=self._commit_done)
        except KafkaError as error:  # a rebalance under way
            self.log.info("kafka_commit_skipped", error=type(error).__name__)

    def _commit_last(self) -> None:
        """On the way out: the offsets of the interval not committed yet, for lag tools."""
        offsets = self._to_commit.take(TopicPartition(self.topic, p) for p in self._owned.copy())
        if offsets:
            try:
                self.consumer.commit(offsets, timeout_ms=5_000)
            except KafkaError as error:
                self.log.info("kafka_commit_skipped", error=type(error).__name__)

    def _commit_done(self, offsets: Any, response: Any) -> None:
        if isinstance(response, BaseException):
            self.log.info("kafka_commit_skipped", error=type(response).__name__)

    def run(self, stop: threading.Event, poll_ms: int = 100) -> RunnerStats:
        """Consume until ``stop`` is set; then leave the group and close."""
        self.log.info("consumer_started", projections=[p.name for p in self.projections])
        last_tick, failures = 0.0, 0
        try:
            while not stop.is_set():
                try:
                    if self._rewind:
                        self.take([TopicPartition(self.topic, p) for p in sorted(self._owned)])
                        self._rewind = False
                    self.step(poll_ms)
                    failures = 0
                    due = time.monotonic() - last_tick >= self.tick_every
                    if self.tick is not None and due:
                        last_tick = time.monotonic()
                        self.tick(self.owned())
                except RETRYABLE as error:
                    # The consumer's position moved past a batch that may not be stored: go back to
                    # the stored offsets once the database answers again.
                    failures += 1
                    wait = parking.backoff(failures, 1.0)
                    self.log.warning("consumer_retry", error=type(error).__name__, detail=str(error),
                                     retry_in=wait)
                    self._rewind = True
                    with contextlib.suppress(Exception):
                        self.store.close()  # a broken connection is replaced on next use
                    stop.wait(wait)
        finally:
            self.close()
            self.log.info("consumer_stopped", events=self.stats.events, batches=self.stats.batches,
                          dead_letters=self.stats.dead_letters, set_aside=self.stats.set_aside,
                          parked=self.stats.parked)
        return self.stats

    def close(self) -> None:
        try:
            self._commit_last()
            self.consumer.close(autocommit=False)
        finally:
            self._dead_letters.close()


def _create_tables(store: ReadStore, projections: Sequence[Projection], record_changes: bool = False,
                   attempts: int = 3) -> None:
    """Create the tables; PostgreSQL's ``CREATE TABLE IF NOT EXISTS`` can collide when several members
    start at once on a fresh database (a unique violation in its catalogue): the loser tries again."""
    for attempt in range(attempts):
        try:
            create_schema(store, projections)
            create_table(store)
            if record_changes:
                change_log.create_table(store)
            return
        except Exception as error:
            if attempt == attempts - 1 or "unique" not in str(error).lower():
                raise
            time.sleep(0.1 * (attempt + 1))
