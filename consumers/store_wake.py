"""A wake-up call when the event store has new events, so followers need not poll fast.

eventsourcing's PostgreSQL recorder runs ``NOTIFY <channel>`` in every transaction that inserts
events; PostgreSQL delivers it when the transaction commits. ``PostgresStoreWake`` listens on that
channel in a thread of its own and sets ``event``. A follower clears the event *before* it reads,
then, if the read found nothing, waits on the event with its poll interval as a fallback: a
commit after the read began always sets it again, so no wake-up is lost, and a lost connection
costs only the fallback poll. Stores without notifications (SQLite, memory) get ``NoWake``: the
follower polls at its interval, as before.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

import structlog

log = structlog.get_logger("tickets.store_wake")


class StoreWake(Protocol):
    event: threading.Event

    def close(self) -> None: ...


class NoWake:
    def __init__(self) -> None:
        self.event = threading.Event()

    def close(self) -> None:
        pass


class PostgresStoreWake:
    """LISTENs on ``channel`` with a connection of its own; reconnects after a failure."""

    def __init__(self, conninfo: str, channel: str, *, retry_after: float = 1.0) -> None:
        self.event = threading.Event()
        self._conninfo = conninfo
        self._channel = channel
        self._retry_after = retry_after
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name="store-wake", daemon=True)
        self._thread.start()

    def wait_listening(self, timeout: float) -> bool:
        """True once the LISTEN is in place (tests and start-up use it)."""
        return self._listening.wait(timeout)

    def _run(self) -> None:
        import psycopg
        from psycopg import sql

        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
                    self._listening.set()
                    self.event.set()  # anything committed before the LISTEN is read once now
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=0.5, stop_after=1):
                            self.event.set()
            except Exception as error:  # a dropped connection: the follower polls meanwhile
                self._listening.clear()
                log.warning("store_wake_lost", error=type(error).__name__)
                self._stop.wait(self._retry_after)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def store_wake(recorder: Any, conninfo: str | None) -> StoreWake:
    """A ``PostgresStoreWake`` for eventsourcing's PostgreSQL recorder, else ``NoWake``."""
    channel = getattr(recorder, "channel_name", None)
    if conninfo is None or not isinstance(channel, str):
        return NoWake()
    return PostgresStoreWake(conninfo, channel)
