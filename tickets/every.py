"""A small look run again and again in a daemon thread of its own, until stopped.

``tickets serve`` answers requests on an event loop, and a loop that waits for a database waits
with every request it holds. Upkeep that needs the database (a key table's erasure count, a
token's revocation) runs here instead, and the loop reads what the last look found.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

log = structlog.get_logger("tickets.every")


class Every:
    """``look()`` at once and then every ``seconds``; ``done()`` in the same thread once stopped
    (to close what the thread opened, such as its own database connection)."""

    def __init__(self, name: str, seconds: float, look: Callable[[], None],
                 done: Callable[[], None] | None = None) -> None:
        self.name = name
        self.seconds = seconds
        self._look = look
        self._done = done
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> Every:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        failing = False
        try:
            while True:
                try:
                    self._look()
                    if failing:
                        log.info("look_recovered", look=self.name)
                    failing = False
                except Exception as error:  # its database away: the callers look for themselves
                    if not failing:
                        log.warning("look_failed", look=self.name, error=type(error).__name__)
                    failing = True
                if self._stop.wait(self.seconds):
                    return
        finally:
            if self._done is not None:
                try:
                    self._done()
                except Exception as error:
                    log.warning("look_close_failed", look=self.name, error=type(error).__name__)
