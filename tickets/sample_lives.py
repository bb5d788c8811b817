"""Ticket lives written through ``TicketDesk``: a repeatable stream of events for tests and benchmarks.

Each life is seven events (open, assign, respond, request info, customer reply, respond, close)
across the five seed desks; ``open_lives`` stops after the request for information, leaving an
auto-close countdown running for the scheduler. Everything comes from seeded ``random.Random``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from tickets.application.desk import TicketDesk
from tickets.demo_profiles import opening, web_editors
from tickets.domain.actor import Actor

AGENT = Actor("agent", "a-1")
SERVICE = Actor("service", "sample")
EVENTS_PER_LIFE = 7
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
STEP = timedelta(minutes=20)


def register_editors(desk: TicketDesk) -> None:
    """The web desk needs its sites' editors before tickets can be opened there."""
    for site, editor in web_editors():
        desk.add_editor("web", site, editor)


def steps(desk: TicketDesk, i: int, rng: random.Random, *, full: bool = True) -> Iterator[None]:
    """One ticket's life, one command per ``next()``; ``full=False`` stops after the info request."""
    o = opening(rng, i)
    t = START + timedelta(minutes=3 * i)
    n = desk.open(desk=o.desk, plan=o.plan, category=o.category, severity=o.severity,
                  requester=o.requester, requester_role=o.role, title=o.title, fields=o.fields,
                  actor=SERVICE, at=t).number
    yield
    desk.assign(n, "a-1", actor=AGENT, at=t + STEP)
    yield
    desk.respond(n, actor=AGENT, at=t + 2 * STEP)
    yield
    desk.request_info(n, actor=AGENT, at=t + 3 * STEP)
    yield
    if not full:
        return
    desk.customer_reply(n, actor=Actor("customer", o.requester), at=t + 4 * STEP)
    yield
    desk.respond(n, actor=AGENT, at=t + 5 * STEP)
    yield
    desk.close_ticket(n, "resolved", actor=AGENT, at=t + 6 * STEP)
    yield


def write_lives(desk: TicketDesk, lives: int, *, first: int = 0, seed: int = 7,
                interleave: int = 1, full: bool = True) -> int:
    """Write ``lives`` ticket lives, ``interleave`` tickets at a time, round robin; return the events."""
    rng = random.Random(seed + first)
    events = 0
    for start in range(first, first + lives, interleave):
        running = [steps(desk, i, rng, full=full) for i in range(start, min(start + interleave,
                                                                             first + lives))]
        while running:
            for life in list(running):
                if next(life, StopIteration) is StopIteration:
                    running.remove(life)
                else:
                    events += 1
    return events


def desk_clock_start() -> datetime:
    """A clock time after every sample event (commands may not be dated in the future)."""
    return datetime(2027, 1, 1, tzinfo=UTC)
