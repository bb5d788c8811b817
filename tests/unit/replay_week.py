"""A generated week of tickets for the replay tests: varied lives through ``TicketDesk`` commands.

Lives mix what auditors look at: severity changes, assignments, information requests and replies,
escalations (by hand, by rule with an SLA target, complaints), closes and reopenings, and tickets
still open at the week's end. Seeded, so the same seed writes the same commands.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tickets.application.clock import Clock, VirtualClock
from tickets.application.desk import TicketDesk
from tickets.config import persistence_env
from tickets.consumers.feed import EmbeddedFeed
from tickets.consumers.store_reader import StoreReader
from tickets.demo_profiles import WEB_SITES, opening
from tickets.domain.actor import Actor
from tickets.domain.catalogue import Catalogue
from tickets.domain.errors import TicketError
from tickets.projections.base import Projection
from tickets.projections.readstore import ReadStore
from tickets.projections_registry import all_projections
from tickets.sample_lives import register_editors

WEEK_START = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)  # a Monday
WEEK_END = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
AGENT = Actor("agent", "a-7")
SERVICE = Actor("service", "webform")


def _life(desk: TicketDesk, i: int, rng: random.Random, t: datetime) -> str:
    o = opening(rng, i)
    n = desk.open(desk=o.desk, plan=o.plan, category=o.category, severity=o.severity,
                  requester=o.requester, requester_role=o.role, title=o.title, fields=o.fields,
                  actor=SERVICE, channel="web", at=t).number
    customer = Actor("customer", o.requester)
    others = [s for s in desk.catalogue.desk(o.desk).plan(o.plan).severities if s != o.severity]

    def step(minutes: int) -> datetime:
        nonlocal t
        t += timedelta(minutes=minutes + rng.randrange(30))
        return t

    moves = [
        lambda: desk.assign(n, f"a-{rng.randrange(5)}", actor=AGENT, channel="cli", at=step(10)),
        lambda: desk.respond(n, actor=AGENT, channel="email", at=step(20)),
        lambda: desk.request_info(n, actor=AGENT, channel="email", at=step(30)),
        lambda: desk.customer_reply(n, actor=customer, channel="email", at=step(90)),
        lambda: desk.escalate(n, "by_hand", None, actor=AGENT, channel="phone", at=step(15)),
        lambda: desk.escalate(n, "complaint", None, actor=customer, channel="web", at=step(40)),
        lambda: desk.set_severity(n, rng.choice(others or [o.severity]), "reclassified", actor=AGENT,
                                  at=step(5)),
    ]
    for move in rng.sample(moves, k=rng.randrange(2, len(moves))):
        with contextlib.suppress(TicketError):  # a move that does not fit this ticket now: skip it
            move()
    if rng.random() < 0.8:
        desk.close_ticket(n, "resolved", actor=AGENT, at=step(120))
        if rng.random() < 0.3:
            with contextlib.suppress(TicketError):  # the desk does not reopen tickets
                desk.reopen(n, "not fixed after all", actor=customer, channel="email", at=step(60))
    return n


def write_week(desk: TicketDesk, tickets: int = 30, seed: int = 11) -> list[str]:
    """Open ``tickets`` tickets spread over the week and live them; return their numbers."""
    if not desk.editors("web", WEB_SITES[0]):
        register_editors(desk)
    rng = random.Random(seed)
    numbers = []
    for i in range(tickets):
        start = WEEK_START + timedelta(minutes=int(i * 5 * 24 * 60 / tickets))
        numbers.append(_life(desk, i, rng, start))
    return numbers


def sqlite_desk(path: Path, catalogue: Catalogue, clock: Clock | None = None) -> TicketDesk:
    """A desk on a SQLite event store file, as the engine builds it."""
    return TicketDesk(catalogue, clock=clock or VirtualClock(WEEK_END),
                      env=persistence_env(f"sqlite:///{path}"), rng=random.Random(7))


def project(desk: TicketDesk, store: ReadStore, projections: Sequence[Projection] | None = None,
            batch_size: int = 1000) -> EmbeddedFeed:
    """Run the live feed over the projections (all of them by default) until it has caught up."""
    feed = EmbeddedFeed(StoreReader(desk), store,
                        projections if projections is not None else all_projections(desk.catalogue),
                        batch_size=batch_size)
    feed.catch_up()
    return feed


ProjectedWeek = tuple[TicketDesk, ReadStore, list[str], Path]


@contextlib.contextmanager
def projected_week(folder: Path, catalogue: Catalogue, tickets: int = 12) -> Iterator[ProjectedWeek]:
    """A week on a SQLite store in ``folder``, projected into a live read model there:
    (desk, read store, ticket numbers, the store's file); both closed on the way out."""
    path = folder / "events.sqlite3"
    desk = sqlite_desk(path, catalogue)
    numbers = write_week(desk, tickets=tickets)
    store = ReadStore(f"sqlite:///{folder / 'rm.sqlite3'}")
    project(desk, store)
    try:
        yield desk, store, numbers, path
    finally:
        store.close()
        desk.close()
