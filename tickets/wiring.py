"""Build the engine's parts from settings: the one place where real adapters are chosen."""

from __future__ import annotations

import time
from typing import TypeVar

from eventsourcing.persistence import PersistenceError

from consumers.buffered_random import BufferedSystemRandom
from domain.catalogue import Catalogue, load_catalogue
from domain.clock import Clock
from domain.desk import TicketDesk
from tickets.config import Settings

D = TypeVar("D", bound=TicketDesk)


def build_catalogue(settings: Settings) -> Catalogue:
    return load_catalogue(extra_dirs=settings.policy_dirs)


def build_desk(settings: Settings, *, clock: Clock | None = None,
               catalogue: Catalogue | None = None) -> TicketDesk:
    """The desk on the configured event store."""
    return build_desk_of(TicketDesk, settings, clock=clock, catalogue=catalogue)


#: What PostgreSQL says when processes create the same tables or functions at the same moment.
CREATION_RACES = ("already exists", "tuple concurrently updated")


def build_desk_of(kind: type[D], settings: Settings, *, clock: Clock | None = None,
                  catalogue: Catalogue | None = None, attempts: int = 5) -> D:
    """A desk of class ``kind`` on the configured event store.

    Processes that start together on one PostgreSQL database all create the event store's tables
    and replace its notification trigger function: ``CREATE TABLE IF NOT EXISTS`` can then fail
    with a unique violation in the catalogue, and ``CREATE OR REPLACE FUNCTION`` with "tuple
    concurrently updated", for all but one of them: the loser waits a moment and tries again.
    """
    if settings.database_url.startswith("sqlite:///"):
        settings.home.mkdir(parents=True, exist_ok=True)
    the_catalogue = catalogue or build_catalogue(settings)
    for attempt in range(1, attempts + 1):
        try:
            return kind(the_catalogue, clock=clock, env=settings.event_store_env(),
                        rng=BufferedSystemRandom())
        except PersistenceError as error:
            if attempt == attempts or not any(race in str(error) for race in CREATION_RACES):
                raise
            time.sleep(0.2 * attempt)
    raise AssertionError("unreachable")
