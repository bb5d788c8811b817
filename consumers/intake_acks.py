"""Which intake offsets may be committed: those of batches whose answers the broker acknowledged.

The intake sends a batch's answers and goes on to the next batch without waiting for them. Each
sent batch is kept here, oldest first, with the producer's futures of its answers and dead
letters and the offsets that follow it. ``settle`` hands back the offsets of the oldest batches
whose futures all succeeded, in order, stopping at the first one still waiting: so an offset is
never committed before the answers of its batch and of every batch before it are on the broker.
A future that failed raises ``SendRefused`` naming what was refused and the offsets settled
before it; the batches stay kept, so the caller can send the refused record again (or park it,
``consumers.parking``) without sending anything else twice, or forget them all and go back to the
committed offsets.

Futures are kafka-python's (``is_done``, ``get(timeout)``); nothing here talks to the broker.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kafka import OffsetAndMetadata, TopicPartition

Offsets = dict[TopicPartition, OffsetAndMetadata]


@dataclass
class Sent:
    """One record handed to the producer for a batch: what it was (the caller's, to send it again),
    its future, and how many times it was sent."""

    outgoing: Any
    future: Any
    attempts: int = 1


class SendRefused(Exception):
    """The broker (or the producer) refused ``sent``; ``settled`` holds the offsets of the batches
    settled before it. The batch stays kept: send it again (``sent.future`` replaced) or
    ``forget`` everything."""

    def __init__(self, sent: Sent, error: BaseException, settled: Offsets) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.sent = sent
        self.error = error
        self.settled = settled


@dataclass(frozen=True)
class SentBatch:
    sent: Sequence[Sent]
    offsets: Mapping[TopicPartition, OffsetAndMetadata]

    @property
    def acknowledged(self) -> bool:
        return all(item.future.is_done for item in self.sent)


class UnacknowledgedBatches:
    """Sent batches, oldest first, until their answers are acknowledged."""

    def __init__(self) -> None:
        self._batches: deque[SentBatch] = deque()

    def __len__(self) -> int:
        return len(self._batches)

    def add(self, futures: Sequence[Any], offsets: Mapping[TopicPartition, OffsetAndMetadata],
            outgoing: Sequence[Any] | None = None) -> None:
        """Keep a batch: the futures of what was sent for it (``outgoing``, in the same order, is
        handed back with a refusal) and the offsets that follow it."""
        things = outgoing if outgoing is not None else [None] * len(futures)
        self._batches.append(SentBatch([Sent(o, f) for o, f in zip(things, futures, strict=True)],
                                       dict(offsets)))

    def forget(self) -> None:
        self._batches.clear()

    def settle(self, wait_for: int = 0, timeout: float = 30.0) -> Offsets:
        """The offsets to commit now: those of the oldest batches fully acknowledged.

        Waits (at most ``timeout`` per future) for the oldest ``wait_for`` batches even if they
        are not acknowledged yet. A refused answer (or a wait past ``timeout``) raises
        ``SendRefused``; its batch and every later one stay kept.
        """
        offsets: Offsets = {}
        while self._batches:
            oldest = self._batches[0]
            if wait_for <= 0 and not oldest.acknowledged:
                break
            for item in oldest.sent:
                try:
                    item.future.get(timeout=timeout)  # raises if the broker did not take it
                except Exception as error:
                    raise SendRefused(item, error, offsets) from error
            self._batches.popleft()
            offsets.update(oldest.offsets)
            wait_for -= 1
        return offsets
