"""Tokens looked up once a second at most per token, for ``tickets serve``.

Over PostgreSQL a token's lookup is a round trip to the database on every request, as much as
the rest of a poll answered from kept bodies. ``RecentTokens`` keeps what ``find`` found for
``ttl`` seconds (1 by default): a revoked token is refused at most that long after the revocation,
on every replica. Only tokens that exist are kept, so made-up ones cannot fill the memory.

With ``follow``, a thread of its own looks the tokens in use up again every half ``ttl``, so a
request finds its token fresh and does not look it up itself: on the server's event loop, that
lookup would hold every other request up for a round trip to the database. A request whose
token the thread has not refreshed within ``ttl`` (the database slow or away) looks it up itself,
as without the thread, so a revocation still counts within ``ttl``.
"""

from __future__ import annotations

import threading
import time

from tickets.application.clock import Clock
from tickets.every import Every
from tickets.http.tokens import TokenInfo, TokenStore
from tickets.projections.readstore import ReadStore

#: Tokens kept at most; past that the oldest lookups go first.
KEPT = 10_000
#: A token unused this long is refreshed no more by the thread (it is looked up when used again).
IDLE_S = 60.0


class RecentTokens(TokenStore):
    def __init__(self, store: ReadStore, clock: Clock | None = None, ttl: float = 1.0) -> None:
        super().__init__(store, clock)
        self.ttl = ttl
        #: token -> (when its lookup began, what it found, when a request last used it)
        self._found: dict[str, tuple[float, TokenInfo, float]] = {}
        self._lock = threading.Lock()

    def find(self, token: str) -> TokenInfo | None:
        now = time.monotonic()
        with self._lock:
            kept = self._found.get(token)
            if kept is not None and now - kept[0] < self.ttl:
                self._found[token] = (kept[0], kept[1], now)
                return kept[1]
        return self._looked_up(token, now)

    def follow(self) -> Every:
        """Refresh the tokens in use in a thread of its own; ``stop()`` the handle to end it."""
        return Every("recent_tokens", self.ttl / 2, self._refresh, done=self.store.close).start()

    def _refresh(self) -> None:
        now = time.monotonic()
        with self._lock:
            used = [(token, kept[2]) for token, kept in self._found.items() if now - kept[2] < IDLE_S]
        for token, last_used in used:
            self._looked_up(token, last_used)

    def _looked_up(self, token: str, used: float) -> TokenInfo | None:
        began = time.monotonic()  # the row read next is at least as new as this
        info = super().find(token)
        with self._lock:
            if info is None:
                self._found.pop(token, None)
            else:
                kept = self._found.get(token)
                self._found[token] = (began, info, max(used, kept[2]) if kept else used)
                while len(self._found) > KEPT:
                    self._found.pop(next(iter(self._found)))
        return info
