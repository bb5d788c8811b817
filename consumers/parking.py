"""Back off, then park, then move on: a record whose dead letter or answer the broker refuses.

A consumer that must write something about a record before it may commit the record's offset (a
dead letter, the intake's answer) cannot simply retry forever: one record the broker always
refuses would hold its partition for good. So each refused send is tried again after a wait that
doubles with every attempt (it never starts over while the same record keeps failing), and after
``KafkaSettings.park_after_attempts`` attempts refused as *this record's* fault (a non-retriable
Kafka error such as ``MessageSizeTooLargeError``) the record is **parked**: in place of what could
not be written, a parked dead letter goes to ``tickets.dlq`` (``DeadLetter.parked``: no original
bytes, only its location, size, digests, the reason and the attempts), a ``record_parked`` log
event is written and the ``tickets_records_parked`` metric counts it, and the consumer goes on.

A retriable error (the broker away, a timeout) is not the record's fault and parking would not be
writable either: it is tried again, with the same growing wait up to ``MAX_BACKOFF_S``, until
the broker takes it or the process stops.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

#: The longest wait between two attempts.
MAX_BACKOFF_S = 30.0

#: Called with the consumer's name (``projections``, ``intake``, ...) for each record parked.
OnParked = Callable[[str], None]


def retriable(error: BaseException) -> bool:
    """Whether waiting may help: Kafka's retriable errors, connections and timeouts."""
    return bool(getattr(error, "retriable", False)) or isinstance(error, ConnectionError | TimeoutError)


def backoff(attempts: int, first: float) -> float:
    """The wait after the ``attempts``-th failed attempt: ``first``, doubled each time, capped."""
    return float(min(MAX_BACKOFF_S, first * 2 ** max(0, attempts - 1)))


def should_park(error: BaseException, attempts: int, park_after: int) -> bool:
    """Park after ``park_after`` attempts refused for the record's own sake."""
    return attempts >= park_after and not retriable(error)


AGAIN, PARK, GIVE_UP = "again", "park", "give_up"


def next_try(error: BaseException, attempts: int, park_after: int, parked: bool) -> str:
    """After ``attempts`` refused sends: ``AGAIN`` (the same, after ``backoff``), ``PARK`` (send the
    parked letter instead), or ``GIVE_UP`` (the broker takes nothing, or not even the parked
    letter: a caller that can go back to its stored offsets does, and tries the batch later)."""
    if parked or (retriable(error) and attempts >= park_after):
        return GIVE_UP
    return PARK if should_park(error, attempts, park_after) else AGAIN


@dataclass(frozen=True)
class RefusedSend:
    """A send the producer refused before it reached the broker (``send`` raised), as a future
    that has failed, so the caller treats it like one the broker refused."""

    error: BaseException
    is_done: bool = True

    def get(self, timeout: float | None = None) -> Any:
        raise self.error


def send(producer: KafkaProducer, topic: str, key: bytes | None, value: bytes,
         headers: list[tuple[str, bytes]]) -> Any:
    """``producer.send``, with a synchronous refusal (a record over ``max_request_size``) returned
    as a failed future instead of raised."""
    try:
        return producer.send(topic, key=key, value=value, headers=headers)
    except KafkaError as error:
        return RefusedSend(error)
