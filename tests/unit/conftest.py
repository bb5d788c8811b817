from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from domain.actor import Actor
from domain.catalogue import Catalogue, load_catalogue
from domain.clock import VirtualClock
from domain.desk import TicketDesk

AGENT = Actor("agent", "a-1")
CUSTOMER = Actor("customer", "c-1")
SERVICE = Actor("service", "webform")


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(datetime(2026, 11, 20, 12, 0, tzinfo=UTC))


@pytest.fixture
def desk(catalogue: Catalogue, clock: VirtualClock) -> TicketDesk:
    return TicketDesk(
        catalogue, clock=clock, env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
        rng=random.Random(7),
    )


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)
