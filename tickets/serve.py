"""``tickets serve``: the HTTP API, change stream and dashboard over the consumer group's read models.

It keeps no read models of its own and runs no feed and no scheduler: the projections group
(``tickets consume``) writes the read models in PostgreSQL, the scheduler group fires the timers,
and any number of ``serve`` replicas read the same tables, so they answer the same figures and
the same ETags. Writes go to the event store through the desk, as with ``tickets run``; the
publisher carries them to Kafka and the group applies them, and a read may wait for its write
(``tickets.http.read_after``). The change stream and the ETags' marks are refreshed when the group
announces a committed batch (``tickets.http.read_follower``), not by polling.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tickets.application.clock import Clock, SystemClock
from tickets.application.desk import TicketDesk
from tickets.config import Settings
from tickets.consumers import change_log, consumer_offsets
from tickets.consumers.kafka_settings import Topics
from tickets.domain.errors import ValidationError
from tickets.every import Every
from tickets.http.app import create_app
from tickets.http.context import make_context
from tickets.http.read_follower import ReadFollower
from tickets.http.read_models import SharedReads
from tickets.http.recent_tokens import RecentTokens
from tickets.http.server import HttpHandle, start_http
from tickets.privacy.keys import KeyTable
from tickets.projections.readstore import ReadStore
from tickets.projections_registry import all_projections
from tickets.wiring import build_desk

T = TypeVar("T")


@dataclass
class Served:
    desk: TicketDesk
    store: ReadStore
    follower: ReadFollower
    http: HttpHandle
    #: The threads that look the tokens and the key table's count up off the event loop.
    upkeep: list[Every] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.http.url

    def close(self) -> None:
        """HTTP first (requests in flight finish), then the follower and the upkeep, the read
        models, the desk."""
        self.http.stop()
        self.follower.close()
        for looking in self.upkeep:
            looking.stop()
        self.store.close()
        self.desk.close()


def require_shared_read_models(settings: Settings) -> None:
    if not settings.read_model_url.startswith(("postgresql://", "postgres://")):
        raise ValidationError(
            "tickets serve reads the consumer group's read models: set TICKETS_READ_MODEL_URL to "
            "postgresql://... (tickets run is the one-process default on SQLite)",
            field="TICKETS_READ_MODEL_URL", rule="postgresql")


def _retried(make: Callable[[], T], attempts: int = 5) -> T:
    """PostgreSQL's ``CREATE ... IF NOT EXISTS`` can collide when replicas start at once on a fresh
    database (a unique violation in its catalogue): the loser tries again."""
    for attempt in range(attempts):
        try:
            return make()
        except Exception as error:
            if attempt == attempts - 1 or "unique" not in str(error).lower():
                raise
            time.sleep(0.1 * (attempt + 1))
    raise AssertionError("unreachable")


def serve(settings: Settings, *, host: str = "127.0.0.1", port: int = 8080,
          group: str = "projections", read_wait: float = 2.0, clock: Clock | None = None) -> Served:
    """Start a replica: the desk for writes, the shared read models, the follower and HTTP."""
    require_shared_read_models(settings)
    the_clock = clock or SystemClock()
    desk = build_desk(settings, clock=the_clock)
    store = ReadStore(settings.read_model_url, connect_timeout=settings.database_connect_timeout)
    names = [p.name for p in all_projections(desk.catalogue)]
    follower = ReadFollower(store, settings.kafka_topic_prefix + group,
                            Topics(settings.kafka_topic_prefix).events)

    def tables() -> None:
        change_log.create_table(store)
        consumer_offsets.create_table(store)

    try:
        ctx = _retried(lambda: make_context(desk, store, the_clock, read_wait=read_wait,
                                            answer_while_building=True,
                                            reads=SharedReads(store, names, follower)))
        tokens = ctx.tokens = RecentTokens(store, the_clock)  # a revocation counts within a second
        _retried(tables)
        app = _retried(lambda: create_app(ctx))
        handle = start_http(app, host, port)
    except BaseException:
        store.close()
        desk.close()
        raise
    # The follower runs in the server's event loop, where the streams are written; until it
    # listens (a moment), the ETags' marks are read from the database at each request.
    follower.start_on(handle.loop)
    # The loop reads the tokens and the key table's erasure count as these threads last found
    # them, rather than waiting on the database itself (``tickets.every``).
    upkeep = [tokens.follow()]
    if isinstance(desk.personal, KeyTable):
        upkeep.append(desk.personal.follow())
    follower.wait_listening(10)
    return Served(desk, store, follower, handle, upkeep)
