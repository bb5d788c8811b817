"""Which intake offsets may be committed: those of batches whose answers the broker acknowledged.

The intake sends a batch's answers and goes on to the next batch without waiting for them. Each
sent batch is kept here, oldest first, with the producer's futures of its answers and dead
letters and the offsets that follow it. ``settle`` hands back the offsets of the oldest batches
whose futures all succeeded, in order, stopping at the first one still waiting: so an offset is
never committed before the answers of its batch and of every batch before it are on the broker.
A future that failed raises its error, and every batch still kept is forgotten: the caller goes
back to the committed offsets, and those batches come again (answered from receipts).

Futures are kafka-python's (``is_done``, ``get(timeout)``); nothing here talks to the broker.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kafka import OffsetAndMetadata, TopicPartition

Offsets = dict[TopicPartition, OffsetAndMetadata]


@dataclass(frozen=True)
class SentBatch:
    futures: Sequence[Any]
    offsets: Mapping[TopicPartition, OffsetAndMetadata]

    @property
    def acknowledged(self) -> bool:
        return all(future.is_done for future in self.futures)


class UnacknowledgedBatches:
    """Sent batches, oldest first, until their answers are acknowledged."""

    def __init__(self) -> None:
        self._batches: deque[SentBatch] = deque()

    def __len__(self) -> int:
        return len(self._batches)

    def add(self, futures: Sequence[Any], offsets: Mapping[TopicPartition, OffsetAndMetadata]) -> None:
        self._batches.append(SentBatch(list(futures), dict(offsets)))

    def forget(self) -> None:
        self._batches.clear()

    def settle(self, wait_for: int = 0, timeout: float = 30.0) -> Offsets:
        """The offsets to commit now: those of the oldest batches fully acknowledged.

        Waits (at most ``timeout`` per future) for the oldest ``wait_for`` batches even if they
        are not acknowledged yet. Raises the error of a refused answer, after forgetting every
        batch kept.
        """
        offsets: Offsets = {}
        while self._batches:
            oldest = self._batches[0]
            if wait_for <= 0 and not oldest.acknowledged:
                break
            try:
                for future in oldest.futures:
                    future.get(timeout=timeout)  # raises if the broker did not take it
            except BaseException:
                self.forget()
                raise
            self._batches.popleft()
            offsets.update(oldest.offsets)
            wait_for -= 1
        return offsets
