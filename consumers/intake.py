"""The intake consumer: commands that services publish on ``tickets.intake``, applied and answered.

One loop per process, a member of consumer group ``<prefix>intake`` (auto-commit off):

1. poll a batch of records (up to ``max_records``);
2. read each (``consumers.intake_messages``), apply the well-formed ones to the desk with the
   sending service's identity (``consumers.intake_apply``: all in one transaction when the store
   accepts that, else one at a time); their events are stored before anything is answered;
3. send one answer per record to ``tickets.intake.results`` and each malformed record to
   ``tickets.dlq``, without waiting: the producer ships them at once (``linger_ms`` 0) and the
   loop goes on to poll the next batch while the broker acknowledges them;
4. commit a batch's offsets (without waiting for the commit) only once the broker acknowledged
   every answer and dead letter of that batch and of every batch before it, at most once per
   ``commit_interval_ms`` (``consumers.commit_pacing``; the latest offsets of the interval). At most
   ``max_unacknowledged`` batches wait for acknowledgement; past that the loop waits for the
   oldest. On the way out every answer sent is waited for and the last offsets are committed
   and waited for.

So a crash anywhere leaves the offsets of every batch not fully answered uncommitted and those
batches are delivered again; each command's receipt answers it again with its first answer, and
nothing is applied twice. When the store or the broker fails (retryable), the loop forgets the
batches still waiting, seeks back to the last committed offsets, waits a little longer each time,
and tries again. An answer or dead letter the broker refuses is sent again on its own (nothing
else of its batch twice) after a wait that doubles each time, and after
``KafkaSettings.park_after_attempts`` refusals for its own sake its record is parked
(``consumers.parking``): one record the broker will not take never holds a partition. A commit
refused because the group rebalanced is logged and left: the partition's new owner gets the batch
again and answers it from receipts.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from eventsourcing.persistence import PersistenceError
from kafka import KafkaConsumer, KafkaProducer, OffsetAndMetadata, TopicPartition
from kafka.errors import KafkaError

from tickets.consumers import parking
from tickets.consumers.commit_pacing import PacedCommits
from tickets.consumers.intake_acks import Offsets, SendRefused, Sent, UnacknowledgedBatches
from tickets.consumers.intake_messages import Allowed, IntakeRecord
from tickets.consumers.intake_outputs import Outgoing, answers_for, parked_record
from tickets.consumers.kafka_settings import KafkaSettings
from tickets.consumers.staging import StagingDesk

log = structlog.get_logger("tickets.intake")

INTAKE_GROUP = "intake"
#: Failures worth waiting out: the store or the broker is away for a moment.
RETRYABLE: tuple[type[BaseException], ...] = (PersistenceError, KafkaError, ConnectionError,
                                              TimeoutError)


@dataclass
class IntakeStats:
    batches: int = 0
    records: int = 0
    accepted: int = 0
    rejected: int = 0
    dead_letters: int = 0
    retries: int = 0
    parked: int = 0


class Intake:
    """Consumes ``tickets.intake`` into ``desk``; answers on ``tickets.intake.results``."""

    def __init__(
        self, desk: StagingDesk, settings: KafkaSettings, *, allowed: Allowed = None,
        group: str = INTAKE_GROUP, max_records: int = 500, send_timeout: float = 30.0,
        max_unacknowledged: int = 8,
        consumer_overrides: Mapping[str, Any] | None = None,
        producer_overrides: Mapping[str, Any] | None = None,
        on_parked: parking.OnParked | None = None,
    ) -> None:
        self.desk = desk
        self.settings = settings
        self.on_parked = on_parked
        #: Set when the loop is asked to stop; waits between attempts end early on it.
        self._stop = threading.Event()
        self.topics = settings.topics
        self.group_id = settings.topic_prefix + group
        self.allowed = allowed
        self.max_records = max_records
        self.send_timeout = send_timeout
        self.max_unacknowledged = max_unacknowledged
        self.stats = IntakeStats()
        #: Offsets whose batches are answered and acknowledged (committed, or about to be).
        self._processed: Offsets = {}
        #: Batches sent whose answers the broker has not all acknowledged yet.
        self._unacknowledged = UnacknowledgedBatches()
        #: Acknowledged offsets not committed yet.
        self._to_commit = PacedCommits(settings.commit_interval_ms / 1000)
        # Answers go out at once: nobody waits for them to fill a batch.
        self.producer = KafkaProducer(**settings.producer_config(
            **{"linger_ms": 0, **(producer_overrides or {})}))
        self.consumer = KafkaConsumer(**settings.consumer_config(
            self.group_id, **{"max_poll_records": max_records, **(consumer_overrides or {})}))
        self.consumer.subscribe([self.topics.intake])
        self.log = log.bind(group=self.group_id, topic=self.topics.intake)

    def step(self, timeout_ms: int = 100) -> int:
        """Poll once; apply and answer what came; commit what is acknowledged.

        Returns how many records were handled.
        """
        self._settle()
        polled = self.consumer.poll(timeout_ms=timeout_ms, max_records=self.max_records)
        if not polled:
            self._settle()
            return 0
        batch = {tp: list(records) for tp, records in polled.items() if records}
        records = [IntakeRecord.of(r) for tp in sorted(batch) for r in batch[tp]]
        outcome = answers_for(self.desk, records, self.topics, self.group_id, self.allowed,
                              self.settings.dead_letter_max_bytes)
        self._unacknowledged.add(
            self._send(outcome.outgoing),
            {tp: OffsetAndMetadata(rs[-1].offset + 1, "", -1) for tp, rs in batch.items()},
            outcome.outgoing)
        for letter in outcome.dead_letters:
            self.log.warning("dead_letter", partition=letter.partition, offset=letter.offset,
                             reason=letter.reason)
        self.stats.batches += 1
        self.stats.records += len(records)
        self.stats.accepted += outcome.accepted
        self.stats.rejected += outcome.rejected
        self.stats.dead_letters += len(outcome.dead_letters)
        self.log.debug("intake_batch", records=len(records), accepted=outcome.accepted,
                       rejected=outcome.rejected, dead_letters=len(outcome.dead_letters))
        self._settle(keep=self.max_unacknowledged)
        return len(records)

    def _send(self, outgoing: Sequence[Outgoing]) -> list[Any]:
        """Hand the records to the producer; its futures tell when the broker has them (a record
        the producer refuses at once, e.g. over ``max_request_size``, as a failed future)."""
        return [parking.send(self.producer, o.topic, o.key, o.value, o.headers) for o in outgoing]

    def _settle(self, keep: int | None = None) -> None:
        """Commit the offsets of the oldest batches whose answers are all acknowledged (waiting
        until at most ``keep`` batches are left unacknowledged), when a commit is due. An answer
        or dead letter the broker refused is sent again after a growing wait, or parked
        (``_try_again``); nothing else is sent twice."""
        while True:
            wait_for = 0 if keep is None else len(self._unacknowledged) - keep
            try:
                offsets = self._unacknowledged.settle(wait_for, self.send_timeout)
            except SendRefused as refused:
                self._settled(refused.settled)
                self._try_again(refused.sent, refused.error)
                continue
            self._settled(offsets)
            break
        due = self._to_commit.due(self.consumer.assignment()) if self._to_commit else {}
        if due:
            self._commit(due)

    def _settled(self, offsets: Offsets) -> None:
        if offsets:
            self._processed.update(offsets)
            self._to_commit.add(offsets)

    def _try_again(self, sent: Sent, error: BaseException) -> None:
        """Send a refused answer or dead letter again after a wait that grows with each attempt;
        refused for its own sake ``park_after_attempts`` times, park its record instead
        (``consumers.parking``). When stopping, raise: the batch comes again after a restart."""
        outgoing: Outgoing = sent.outgoing
        if self._stop.is_set():
            raise error
        if not sent.future.is_done:  # only the wait timed out: the producer is still on it
            self.log.warning("intake_answer_waiting", topic=outgoing.topic, error=type(error).__name__)
            return
        self.log.warning("intake_send_refused", topic=outgoing.topic, error=type(error).__name__,
                         attempt=sent.attempts, parked=outgoing.parked,
                         partition=None if outgoing.record is None else outgoing.record.partition,
                         offset=None if outgoing.record is None else outgoing.record.offset)
        self._stop.wait(parking.backoff(sent.attempts, self.settings.retry_backoff_s))
        if self._stop.is_set():
            raise error
        # The intake does not give up (going back would answer the whole batch again): it keeps
        # trying what the broker refuses for the broker's sake, and parks what it refuses for its own.
        park_after = self.settings.park_after_attempts
        if parking.next_try(error, sent.attempts, park_after, outgoing.parked) == parking.PARK:
            why = f"{type(error).__name__}: {error}"[:300]
            outgoing = sent.outgoing = parked_record(self.topics.dlq, outgoing, self.group_id,
                                                     sent.attempts, why)
            self._parked(outgoing)
        sent.attempts += 1
        sent.future = parking.send(self.producer, outgoing.topic, outgoing.key, outgoing.value,
                                   outgoing.headers)

    def _parked(self, outgoing: Outgoing) -> None:
        record = outgoing.record
        self.stats.parked += 1
        self.log.error("record_parked", topic=record.topic if record else None,
                       partition=record.partition if record else None,
                       offset=record.offset if record else None, reason=outgoing.reason)
        if self.on_parked is not None:
            self.on_parked(self.group_id)

    def _commit(self, offsets: Offsets) -> None:
        """Commit offsets without waiting: their answers are already acknowledged, so a commit
        that is lost only means a redelivery, answered from receipts."""
        self.consumer.commit_async(offsets, callback=self._commit_done)

    def _commit_done(self, offsets: Mapping[TopicPartition, Any], response: Any) -> None:
        if isinstance(response, Exception):  # e.g. the group rebalanced: the new owner answers
            self.log.warning("intake_commit_refused", error=type(response).__name__,
                             partitions=sorted(tp.partition for tp in offsets))

    def _commit_last(self) -> None:
        """On the way out: wait for the answers sent, then for the last offsets of the partitions
        still owned."""
        try:
            self.producer.flush(timeout=self.send_timeout)
            self._settle(keep=0)
        except RETRYABLE as error:  # their batches come again: answered from receipts
            self.log.warning("intake_answers_unacknowledged", error=type(error).__name__)
        owned = self.consumer.assignment()
        self._to_commit.take()
        offsets = {tp: o for tp, o in self._processed.items() if tp in owned}
        if offsets:
            try:
                self.consumer.commit(offsets)
            except KafkaError as error:
                self.log.warning("intake_commit_refused", error=type(error).__name__,
                                 partitions=sorted(tp.partition for tp in offsets))

    def _rewind(self) -> None:
        """Go back to the last committed offsets, so the failed batch (and any after it) comes again."""
        self._unacknowledged.forget()
        for tp in self.consumer.assignment():
            committed = self.consumer.committed(tp)
            if committed is None:
                self.consumer.seek_to_beginning(tp)
            else:
                self.consumer.seek(tp, committed)

    def run(self, stop: threading.Event, poll_ms: int = 100, max_backoff: float = 30.0) -> IntakeStats:
        """Consume until ``stop`` is set; then leave the group and close."""
        self.log.info("intake_started", allow_list=self.allowed is not None)
        self._stop = stop
        backoff, failed = 0.5, False
        try:
            while not stop.is_set():
                try:
                    if failed:
                        self._rewind()
                    self.step(poll_ms)
                    backoff, failed = 0.5, False
                except RETRYABLE as error:
                    failed = True
                    self.stats.retries += 1
                    self.log.warning("intake_batch_failed", error=type(error).__name__,
                                     retry_in=backoff)
                    stop.wait(backoff)
                    backoff = min(max_backoff, backoff * 2)
        finally:
            self.close()
            self.log.info("intake_stopped", records=self.stats.records,
                          accepted=self.stats.accepted, rejected=self.stats.rejected,
                          dead_letters=self.stats.dead_letters, retries=self.stats.retries,
                          parked=self.stats.parked)
        return self.stats

    def close(self) -> None:
        try:
            self._commit_last()
        finally:
            self._close_clients()

    def _close_clients(self) -> None:
        try:
            self.consumer.close(autocommit=False)
        finally:
            self.producer.close(timeout=self.send_timeout)
