"""What the HTTP routes work with: the desk, the read models, the clock and the tokens."""

from __future__ import annotations

import threading
from dataclasses import InitVar, dataclass, field

from fastapi import Request

from tickets.application.clock import Clock
from tickets.application.desk import TicketDesk
from tickets.http.answers import AnswerStore
from tickets.http.read_models import EmbeddedReads, ReadModels
from tickets.http.tokens import TokenStore
from tickets.projections.readstore import ReadStore
from tickets.projections_registry import all_projections

#: The largest request body accepted (a command is a few hundred bytes; a ticket's fields at most 50).
BODY_LIMIT = 64 * 1024


@dataclass
class HttpContext:
    desk: TicketDesk
    store: ReadStore
    clock: Clock
    tokens: TokenStore
    answers: AnswerStore
    body_limit: int = BODY_LIMIT
    stream_interval: float = 0.2  # seconds between two looks at the projections' positions
    stream_heartbeat: float = 15.0  # a comment line this often keeps proxies from closing the stream
    closing: threading.Event = field(default_factory=threading.Event)  # set: streams end
    read_wait: float = 2.0  # seconds a read that names a write (``at_least``) may wait for it
    #: Answer the last body built (under its own ETag) while the one for a new tag is built, rather
    #: than wait for it (``tickets serve``: under a steady stream of batches a poll never waits).
    answer_while_building: bool = False
    read_models: InitVar[ReadModels | None] = None  # None: the embedded feed's (``EmbeddedReads``)

    def __post_init__(self, read_models: ReadModels | None) -> None:
        self.reads: ReadModels = read_models or EmbeddedReads(
            self.store, [p.name for p in all_projections(self.desk.catalogue)])


def context_of(request: Request) -> HttpContext:
    ctx: HttpContext = request.app.state.ctx
    return ctx


def make_context(desk: TicketDesk, store: ReadStore, clock: Clock | None = None, *,
                 reads: ReadModels | None = None, **options: float) -> HttpContext:
    """The context over a desk and its read models (``reads``: how far they are; by default the
    embedded feed's); ``options`` override the defaults above."""
    the_clock = clock or desk.clock
    return HttpContext(desk, store, the_clock, TokenStore(store, the_clock),
                       AnswerStore(store, the_clock), read_models=reads,
                       **options)  # type: ignore[arg-type]
