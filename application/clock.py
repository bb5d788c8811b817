"""Injected clocks: the domain never reads the time itself, it is given a clock."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, aware, in UTC."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class VirtualClock:
    """A clock that moves only when told to: for simulations, demos and tests."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("VirtualClock needs an aware start time")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            if delta < timedelta(0):
                raise ValueError("a virtual clock never goes back")
            self._now += delta
            return self._now

    def set(self, instant: datetime) -> datetime:
        with self._lock:
            instant = instant.astimezone(UTC)
            if instant < self._now:
                raise ValueError("a virtual clock never goes back")
            self._now = instant
            return self._now
