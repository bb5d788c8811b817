"""The intake's ticket cache follows the notification log: other writers' changes arrive, gaps evict."""

from __future__ import annotations

import random

import pytest

from tests.unit.conftest import AGENT, SERVICE
from tickets.application.clock import VirtualClock
from tickets.consumers.followed_cache import FollowedCache
from tickets.consumers.staging import StagingDesk
from tickets.domain.actor import Actor
from tickets.domain.catalogue import Catalogue


@pytest.fixture
def desk(catalogue: Catalogue, clock: VirtualClock) -> StagingDesk:
    return StagingDesk(catalogue, clock=clock, env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
                       rng=random.Random(5))


def open_ticket(desk: StagingDesk) -> str:
    return desk.open(desk="o365", requester="c-1", requester_role="admin", title="T",
                     severity="B", actor=SERVICE).number


def test_a_cached_ticket_catches_up_with_other_writers(desk: StagingDesk) -> None:
    number = open_ticket(desk)
    cache = FollowedCache(desk)
    cache.put(desk.get(number))
    desk.respond(number, actor=AGENT)  # written outside the cache
    desk.close_ticket(number, "resolved", actor=AGENT)
    assert cache.catch_up() == 2
    cached = cache.get(desk.ticket_id(number))
    assert cached is not None and (cached.version, cached.status) == (3, "closed")


def test_a_copy_is_handed_out_so_the_cache_stays_as_stored(desk: StagingDesk) -> None:
    number = open_ticket(desk)
    cache = FollowedCache(desk)
    cache.put(desk.get(number))
    copy = cache.get(desk.ticket_id(number))
    assert copy is not None
    copy.respond(at=desk.clock.now(), now=desk.clock.now(), actor=AGENT, channel="api")
    again = cache.get(desk.ticket_id(number))
    assert again is not None and again.version == 1


def test_a_gap_in_a_tickets_versions_drops_it_from_the_cache(desk: StagingDesk) -> None:
    number = open_ticket(desk)
    cache = FollowedCache(desk)
    cache.put(desk.get(number))
    desk.respond(number, actor=AGENT)
    cache.position += 1  # as if the log had been read past version 2 without this ticket cached
    desk.respond(number, actor=Actor("agent", "a-2"))
    cache.catch_up()
    assert cache.get(desk.ticket_id(number)) is None


def test_own_writes_are_skipped_only_when_nobody_wrote_in_between(desk: StagingDesk) -> None:
    cache = FollowedCache(desk)
    start = cache.position
    cache.written([start + 1, start + 2])
    assert cache.position == start + 2
    cache.written([start + 4, start + 5])  # position start + 3 is someone else's
    assert cache.position == start + 2


def test_the_least_recently_used_ticket_goes_first(desk: StagingDesk) -> None:
    numbers = [open_ticket(desk) for _ in range(3)]
    cache = FollowedCache(desk, maxsize=2)
    for number in numbers:
        cache.put(desk.get(number))
    assert len(cache) == 2 and cache.get(desk.ticket_id(numbers[0])) is None
