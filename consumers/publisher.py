"""The publisher: an outbox relay from the event store's notification log to ``tickets.events``.

Each round takes the next batch of ticket envelopes after the recorded position (read and sealed
with the hash chain ahead of time, in a child process or a thread: ``consumers.read_ahead``),
sends each as its msgpack bytes keyed by the ticket id (so one ticket's events share a partition
and keep their order) with ``type`` and ``content-type`` headers (and, with signing keys
configured, ``signature-key`` and ``signature``: ``consumers.signing``), waits until the broker has
acknowledged every record of the batch, and only then records the batch's last position
(``consumers.publisher_state``). With nothing to send it waits for the store's wake-up call
(``consumers.store_wake``: PostgreSQL's NOTIFY on every insert) or its poll interval. A crash
between the acknowledgement and the record sends part of a batch again after the restart:
duplicates carry the same ticket id and version, and consumers skip them. No event is ever skipped.

Only the leader publishes (an advisory lock or a file lock, see ``publisher_state``): two
publishers at once could interleave their copies of one ticket's events. The others wait as
standbys and take over when the leader's lock is freed. The producer is idempotent with
``acks=all``, so the broker's own retries neither duplicate nor reorder records.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import structlog
from kafka import KafkaProducer

from tickets.consumers.kafka_settings import KafkaSettings, event_headers
from tickets.consumers.publisher_state import PublisherState
from tickets.consumers.read_ahead import ReadAhead, ThreadReadAhead
from tickets.consumers.store_reader import StoreReader
from tickets.consumers.store_wake import NoWake, StoreWake
from tickets.wire.envelope import CONTENT_TYPE

log = structlog.get_logger("tickets.publisher")


@dataclass
class PublisherStats:
    batches: int = 0
    events: int = 0
    position: int = 0
    led: bool = False


class Publisher:
    def __init__(
        self, reader: StoreReader | ReadAhead, state: PublisherState, settings: KafkaSettings, *,
        batch_size: int = 2000, poll_interval: float = 0.02, standby_interval: float = 1.0,
        producer: KafkaProducer | None = None, wake: StoreWake | None = None,
    ) -> None:
        self.ahead: ReadAhead = ThreadReadAhead(reader) if isinstance(reader, StoreReader) else reader
        self.state = state
        self.topic = settings.topics.events
        self.signing = settings.signing
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.standby_interval = standby_interval
        self.producer = producer or KafkaProducer(**settings.producer_config())
        self.wake = wake or NoWake()
        self.stats = PublisherStats()
        self._headers: dict[str, list[tuple[str, bytes]]] = {}
        self._requested = False
        self.log = log.bind(topic=self.topic)

    def lead(self, stop: threading.Event) -> bool:
        """Wait as a standby until this publisher holds the lock (True) or ``stop`` is set (False)."""
        waiting = False
        while not stop.is_set():
            if self.state.try_lead():
                self.stats.led = True
                self.stats.position = self.state.position()
                self.log.info("publisher_leading", position=self.stats.position)
                return True
            if not waiting:
                self.log.info("publisher_standby")
                waiting = True
            stop.wait(self.standby_interval)
        return False

    def _request(self, after: int) -> None:
        self.wake.event.clear()  # before the read starts: a commit after it wakes us again
        self.ahead.request(after, self.batch_size)
        self._requested = True

    def step(self) -> int:
        """Publish the next batch after the recorded position; return how many events.

        While the broker takes this batch, the next one is read and sealed ahead: the work on
        the store and the work on the broker overlap.
        """
        if not self._requested:
            self._request(self.stats.position)
        self._requested = False
        batch = self.ahead.result()
        if not batch:
            return 0
        self._request(batch[-1][0])
        send, topic, headers_of = self.producer.send, self.topic, self._headers_of
        if self.signing is None:
            futures = [send(topic, key=key, value=value, headers=headers_of(kind))
                       for _, key, kind, value in batch]
        else:
            sign = self.signing.sign
            futures = [send(topic, key=key, value=value, headers=headers_of(kind) + sign(value))
                       for _, key, kind, value in batch]
        self.producer.flush()
        for future in futures:
            future.get(timeout=0)  # raises what the broker answered if a record failed
        first, last = batch[0][0], batch[-1][0]
        self.state.save(last)
        self.stats.position = last
        self.stats.batches += 1
        self.stats.events += len(batch)
        self.log.info("batch_published", count=len(batch), first_position=first, last_position=last)
        return len(batch)

    def _headers_of(self, event_type: str) -> list[tuple[str, bytes]]:
        headers = self._headers.get(event_type)
        if headers is None:
            headers = self._headers[event_type] = event_headers(event_type, CONTENT_TYPE)
        return headers

    def run(self, stop: threading.Event) -> PublisherStats:
        """Lead (or wait to), then publish until ``stop`` is set; close the producer and the lock."""
        try:
            if self.lead(stop):
                while not stop.is_set():
                    if self.step() == 0:
                        self.wake.event.wait(self.poll_interval)
        finally:
            self.close()
            self.log.info("publisher_stopped", events=self.stats.events, position=self.stats.position)
        return self.stats

    def close(self) -> None:
        self.wake.close()
        self.ahead.close()
        try:
            self.producer.flush(timeout=10)
            self.producer.close(timeout=10)
        finally:
            self.state.close()
