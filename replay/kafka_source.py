"""Rebuild from Kafka: ``tickets.events`` read from offset 0, merged back into the log's order.

The publisher sends each event keyed by its ticket, so every partition holds its tickets' events
in log order, and each envelope carries its store ``position``. ``KafkaSource`` reads every
partition from its beginning and merges them by position (a k-way merge: the smallest head of
all partitions goes next, so one partition is never read far ahead of the others), skipping the
duplicates a publisher restart leaves (same position, same event). It reads what the topic holds
when the source is made: ``max_position`` is the largest position at each partition's end then,
found by reading each partition's last records; records published later are left for the live
consumers. This reads the tail by seeking to the end offset minus one and reading on until the
partition has nothing more, which holds whatever the broker reports as its end (an exact last
offset, or the start of the last batch).

A record that is not a valid envelope stops the rebuild with its partition, offset and reason:
the topic is the source of truth here, and a rebuild must not quietly leave an event out.
Resuming after ``after`` re-reads the partitions from the beginning and skips to it. The topic
must hold every event from offset 0 (``retention.ms=-1``); a partition that starts later is refused.
``KafkaSealedSource`` hands the events to a rebuild part (``replay.rebuild``, ``--from kafka``).
"""

from __future__ import annotations

import heapq
import time
from collections import deque
from typing import Any
from uuid import UUID

from kafka import KafkaConsumer, TopicPartition

from tickets.consumers.kafka_settings import KafkaSettings
from tickets.domain.errors import ValidationError
from tickets.replay.log_source import Sealed
from tickets.replay.source import SourceBatch
from tickets.wire.envelope import Envelope, EnvelopeError, decode

#: Records buffered per partition before it is paused, so one fast partition cannot fill memory.
BUFFER_PER_PARTITION = 5_000


class KafkaSource:
    """``tickets.events`` from offset 0 in position order; ``partition=(k, n)`` keeps id % n == k."""

    def __init__(self, settings: KafkaSettings, partition: tuple[int, int] | None = None, *,
                 idle_ms: int = 1_000, metadata_timeout: float = 30.0, until: int | None = None) -> None:
        self.topic = settings.topics.events
        self.signing = settings.signing
        self.partition = partition
        self.idle_ms = idle_ms
        self._consumer = KafkaConsumer(**settings.consumer_config(
            None, enable_auto_commit=False, max_poll_records=BUFFER_PER_PARTITION))
        self._tps = self._partitions(metadata_timeout)
        self._index = {tp: i for i, tp in enumerate(self._tps)}
        self._consumer.assign(self._tps)
        self._check_nothing_deleted()
        self._ends = self._last_records()
        self._goal = max((position for _, position in self._ends.values()), default=0)
        if until is not None:  # the parts of one rebuild read to the same goal
            self._goal = min(self._goal, until)
        self._reset()

    def _partitions(self, timeout: float) -> list[TopicPartition]:
        deadline = time.monotonic() + timeout
        while True:
            found = self._consumer.partitions_for_topic(self.topic)
            if found:
                return [TopicPartition(self.topic, p) for p in sorted(found)]
            if time.monotonic() > deadline:
                raise ValidationError(f"topic {self.topic} does not exist or has no partitions",
                                      field="topic", rule="exists")
            time.sleep(0.2)

    def _check_nothing_deleted(self) -> None:
        """A partition whose first offset is past 0 lost records to retention: refuse to rebuild."""
        for tp, first in sorted(self._consumer.beginning_offsets(self._tps).items()):
            if first > 0:
                raise ValidationError(
                    f"{tp.topic} partition {tp.partition} starts at offset {first}: earlier events were "
                    "deleted (retention), so a rebuild from Kafka would miss them; rebuild from the "
                    "event store, and keep tickets.events with retention.ms=-1",
                    field="topic", rule="complete_from_offset_0")

    def _last_records(self) -> dict[TopicPartition, tuple[int, int]]:
        """Each non-empty partition's (last offset, largest position) as the topic stands now."""
        ends: dict[TopicPartition, tuple[int, int]] = {}
        for tp, end in self._consumer.end_offsets(self._tps).items():
            if end > 0:
                self._consumer.seek(tp, end - 1)
        for records in self._drain():
            for record in records:
                tp = TopicPartition(record.topic, record.partition)
                position = self._decode(record).position
                last_offset, best = ends.get(tp, (-1, 0))
                ends[tp] = (max(last_offset, record.offset), max(best, position))
        return ends

    def _drain(self) -> Any:
        """Poll until every partition has been quiet for ``idle_ms``; yield the record lists."""
        quiet_since = time.monotonic()
        while (time.monotonic() - quiet_since) * 1000 < self.idle_ms:
            polled = self._consumer.poll(timeout_ms=100)
            if polled:
                quiet_since = time.monotonic()
                yield from polled.values()

    def max_position(self) -> int:
        return self._goal

    def _reset(self) -> None:
        self._buffers: dict[TopicPartition, deque[Envelope]] = {tp: deque() for tp in self._tps}
        self._done = {tp for tp in self._tps if tp not in self._ends}
        self._heap: list[tuple[int, int]] = []  # (position, partition index) of buffered heads
        self._last = 0
        self._consumer.resume(*self._tps)
        self._consumer.seek_to_beginning(*self._tps)

    def read(self, after: int, limit: int) -> SourceBatch:
        if after < self._last:
            self._reset()
        envelopes: list[Envelope] = []
        end = max(after, self._last)
        while len(envelopes) < limit:
            head = self._next()
            if head is None:
                break
            end = self._last = head.position
            if head.position > after and self._mine(head):
                envelopes.append(head)
        return SourceBatch(envelopes, end)

    def _next(self) -> Envelope | None:
        """The envelope with the smallest position among all partitions' heads (None at the end)."""
        while True:
            self._fill()
            if not self._heap:
                return None
            _, index = heapq.heappop(self._heap)
            buffer = self._buffers[self._tps[index]]
            envelope = buffer.popleft()
            if buffer:
                heapq.heappush(self._heap, (buffer[0].position, index))
            if envelope.position > self._goal:
                self._heap.clear()  # past the goal: the end for this source
                return None
            if envelope.position > self._last:
                return envelope
            # a duplicate of what was handed over already (a publisher re-sent it): skip

    def _fill(self) -> None:
        """Poll until every partition not yet finished has a buffered head."""
        while True:
            waiting = [tp for tp in self._tps if not self._buffers[tp] and tp not in self._done]
            if not waiting:
                return
            full = [tp for tp in self._tps if len(self._buffers[tp]) >= BUFFER_PER_PARTITION]
            self._consumer.pause(*full)
            self._consumer.resume(*[tp for tp in self._tps if tp not in full])
            for records in self._consumer.poll(timeout_ms=200).values():
                for record in records:
                    self._take(record)

    def _take(self, record: Any) -> None:
        tp = TopicPartition(record.topic, record.partition)
        if tp in self._done:
            return
        last_offset, _ = self._ends[tp]
        if record.offset > last_offset:  # published after the source was made
            self._done.add(tp)
            return
        if record.offset == last_offset:
            self._done.add(tp)
        if self.signing is not None and self.signing.refusal(record.value, record.headers) is not None:
            return  # the live consumers sent it to the dead letters: nothing of it is applied
        envelope = self._decode(record)
        buffer = self._buffers[tp]
        if not buffer:
            heapq.heappush(self._heap, (envelope.position, self._index[tp]))
        buffer.append(envelope)

    def _decode(self, record: Any) -> Envelope:
        try:
            return decode(record.value)
        except EnvelopeError as error:
            raise ValidationError(
                f"the record at {record.topic} partition {record.partition} offset {record.offset} "
                f"is not a ticket event envelope: {error.reason}",
                field="record", rule="envelope") from None

    def _mine(self, envelope: Envelope) -> bool:
        if self.partition is None:
            return True
        k, n = self.partition
        return UUID(envelope.ticket_id).int % n == k

    def close(self) -> None:
        self._consumer.close()


class KafkaSealedSource:
    """``KafkaSource`` as a rebuild part reads it: ``replay.log_source.Sealed`` events."""

    #: A topic's partitions do not say where the part's events end: the part reads up to the goal.
    at_end = False

    def __init__(self, source: KafkaSource) -> None:
        self.source = source

    def max_position(self) -> int:
        return self.source.max_position()

    def read(self, after: int, limit: int) -> tuple[list[Sealed], int]:
        batch = self.source.read(after, limit)
        return [Sealed.of(e) for e in batch.envelopes], batch.end

    def close(self) -> None:
        self.source.close()
