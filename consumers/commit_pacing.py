"""Kafka offset commits at most once per interval, instead of once per batch.

Every commit is a request the client and the broker pay for in CPU. At a steady few hundred
events a second a loop that commits after each batch sends some fifty commits a second, each
superseding the one before; the last of an interval carries everything the others did. Where a
commit that comes later only means more redelivery after a crash (the intake answers a
redelivered command from its receipt; the consumer group keeps its true offsets in the read
store), the loops hand their offsets here and commit what ``due`` gives back.

Nothing here talks to the broker.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping

from kafka import OffsetAndMetadata, TopicPartition

Offsets = dict[TopicPartition, OffsetAndMetadata]


class PacedCommits:
    """Offsets waiting to be committed; ``due`` hands them over at most once per ``every`` seconds.

    ``every`` 0 hands every offset over at once (a commit per batch).
    """

    def __init__(self, every: float, clock: Callable[[], float] = time.monotonic) -> None:
        if every < 0:
            raise ValueError(f"commit interval: must be 0 or more seconds, got {every}")
        self.every = every
        self._clock = clock
        self._pending: Offsets = {}
        self._last = float("-inf")

    def __bool__(self) -> bool:
        return bool(self._pending)

    def add(self, offsets: Mapping[TopicPartition, OffsetAndMetadata]) -> None:
        """Offsets that may be committed (later offsets of a partition replace earlier ones)."""
        self._pending.update(offsets)

    def due(self, owned: Iterable[TopicPartition] | None = None) -> Offsets:
        """The offsets to commit now, if the interval has passed since the last hand-over (else
        none). With ``owned``, offsets of partitions not owned any more are dropped: their new
        owner commits its own."""
        if not self._pending or self._clock() - self._last < self.every:
            return {}
        return self.take(owned)

    def take(self, owned: Iterable[TopicPartition] | None = None) -> Offsets:
        """Every offset waiting, whatever the interval (on the way out)."""
        pending, self._pending = self._pending, {}
        self._last = self._clock()
        if owned is not None:
            keep = set(owned)
            pending = {tp: offset for tp, offset in pending.items() if tp in keep}
        return pending
