"""Tokens looked up once a second at most per token, for ``tickets serve``.

Over PostgreSQL a token's lookup is a round trip to the database on every request, as much as
the rest of a poll answered from kept bodies. ``RecentTokens`` keeps what ``find`` found for
``ttl`` seconds (1 by default): a revoked token is refused at most that long after the revocation,
on every replica. Only tokens that exist are kept, so made-up ones cannot fill the memory.
"""

from __future__ import annotations

import threading
import time

from tickets.application.clock import Clock
from tickets.http.tokens import TokenInfo, TokenStore
from tickets.projections.readstore import ReadStore

#: Tokens kept at most; past that the oldest lookups go first.
KEPT = 10_000


class RecentTokens(TokenStore):
    def __init__(self, store: ReadStore, clock: Clock | None = None, ttl: float = 1.0) -> None:
        super().__init__(store, clock)
        self.ttl = ttl
        self._found: dict[str, tuple[float, TokenInfo]] = {}
        self._lock = threading.Lock()

    def find(self, token: str) -> TokenInfo | None:
        now = time.monotonic()
        with self._lock:
            kept = self._found.get(token)
        if kept is not None and now - kept[0] < self.ttl:
            return kept[1]
        info = super().find(token)
        with self._lock:
            if info is None:
                self._found.pop(token, None)
            else:
                self._found[token] = (now, info)
                while len(self._found) > KEPT:
                    self._found.pop(next(iter(self._found)))
        return info
