"""A consumer group's dead letters, sent to ``tickets.dlq`` and acknowledged before its batch is stored.

Every dead letter fits (``DeadLetter.record``). One the broker refuses all the same is sent again,
alone, after a wait that doubles with each attempt; refused for its own sake
``KafkaSettings.park_after_attempts`` times, its record is parked instead (``consumers.parking``:
a parked dead letter, the ``record_parked`` log event, ``on_parked`` for the metric). A broker
that takes nothing (or not even the parked letter) ends in ``DeadLettersUnsent``, a retryable
error: the runner goes back to its stored offsets and the batch comes again.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

import structlog
from kafka import KafkaProducer
from kafka.errors import KafkaError

from tickets.consumers import parking
from tickets.consumers.dead_letters import DeadLetter, DeadLetterRecord
from tickets.consumers.kafka_settings import KafkaSettings

log = structlog.get_logger("tickets.consumer")


class DeadLettersUnsent(ConnectionError):
    """The broker did not take a batch's dead letters (retryable: the batch comes again)."""


@dataclass
class _Pending:
    letter: DeadLetter
    record: DeadLetterRecord
    parked: bool = False


class DeadLetterSender:
    """Sends dead letters for consumer group ``group_id`` with a producer of its own, made on first use."""

    def __init__(self, settings: KafkaSettings, group_id: str, *,
                 producer_overrides: dict[str, Any] | None = None,
                 on_parked: parking.OnParked | None = None) -> None:
        self.settings = settings
        self.group_id = group_id
        self.on_parked = on_parked
        self._overrides = producer_overrides or {}
        self._producer: KafkaProducer | None = None
        self.log = log.bind(group=group_id)

    def send(self, dead: list[DeadLetter]) -> int:
        """Send ``dead`` and wait until the broker has each (or its parked form); the number parked."""
        if self._producer is None:
            self._producer = KafkaProducer(**self.settings.producer_config(**self._overrides))
        limit = self.settings.dead_letter_max_bytes
        pending = [_Pending(d, d.record(self.group_id, limit)) for d in dead]
        parked = 0
        for attempt in itertools.count(1):
            sent = [(p, parking.send(self._producer, self.settings.topics.dlq, p.record.key,
                                     p.record.value, p.record.headers)) for p in pending]
            self._producer.flush()
            pending = []
            for item, future in sent:
                try:
                    future.get(timeout=30)
                except KafkaError as error:
                    pending.append(self._next(item, error, attempt))
                else:
                    parked += self._written(item, attempt)
            if not pending:
                return parked
            time.sleep(parking.backoff(attempt, self.settings.retry_backoff_s))
        raise AssertionError("unreachable")

    def _next(self, item: _Pending, error: KafkaError, attempt: int) -> _Pending:
        """What to send next for a refused dead letter: the same, or its parked form."""
        letter = item.letter
        self.log.warning("dead_letter_refused", partition=letter.partition, offset=letter.offset,
                         error=type(error).__name__, attempt=attempt, parked=item.parked)
        decision = parking.next_try(error, attempt, self.settings.park_after_attempts, item.parked)
        if decision == parking.GIVE_UP:
            raise DeadLettersUnsent(f"tickets.dlq refused a dead letter: {type(error).__name__}")
        if decision == parking.PARK:
            return _Pending(letter, letter.parked(self.group_id, attempt), parked=True)
        return item

    def _written(self, item: _Pending, attempt: int) -> int:
        letter = item.letter
        if not item.parked:
            self.log.warning("dead_letter", partition=letter.partition, offset=letter.offset,
                             reason=letter.reason)
            return 0
        self.log.error("record_parked", topic=letter.topic, partition=letter.partition,
                       offset=letter.offset, reason=letter.reason, refused=attempt - 1)
        if self.on_parked is not None:
            self.on_parked(self.group_id)
        return 1

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close()
            self._producer = None
