"""Build the engine's parts from settings: the one place where real adapters are chosen."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from eventsourcing.persistence import InterfaceError, OperationalError, PersistenceError

from tickets.application.clock import Clock
from tickets.application.desk import TicketDesk
from tickets.application.policy_files import load_catalogue
from tickets.config import Settings, postgres_address
from tickets.consumers.buffered_random import BufferedSystemRandom
from tickets.domain.calendar_validation import use_country_problems
from tickets.domain.catalogue import Catalogue
from tickets.domain.errors import TicketError
from tickets.domain.personal import NoKeys, SubjectKeys
from tickets.domain.policy_calendars import use_holiday_names
from tickets.holiday_names import country_problem, holiday_names

D = TypeVar("D", bound=TicketDesk)

#: A connection that takes longer than this gets a log line saying what is awaited, and how long.
SLOW_CONNECT_NOTE_S = 1.0


class StoreUnavailable(TicketError):
    """The event store cannot be reached or opened (``field`` names the setting to look at)."""

    code = "unavailable"


def build_catalogue(settings: Settings) -> Catalogue:
    use_holiday_names(holiday_names)  # kept per package release: no command imports every country,
    use_country_problems(country_problem)  # and none imports the package when its years are pinned
    return load_catalogue(extra_dirs=settings.policy_dirs)


def build_desk(settings: Settings, *, clock: Clock | None = None,
               catalogue: Catalogue | None = None) -> TicketDesk:
    """The desk on the configured event store."""
    return build_desk_of(TicketDesk, settings, clock=clock, catalogue=catalogue)


def build_keys(settings: Settings) -> SubjectKeys:
    """The data subjects' key table (``tickets.privacy.keys``): ``HOME/keys.sqlite3`` beside a
    SQLite event store, a schema of its own beside a PostgreSQL one."""
    from tickets.privacy.key_db import PostgresKeyDb  # here: only a desk that stores loads them
    from tickets.privacy.keys import FILE_NAME, KeyTable

    if settings.database_url == "memory:":
        return NoKeys()
    if settings.is_postgres:
        import psycopg

        try:
            return KeyTable(PostgresKeyDb(settings.database_url), settings.privacy_master_key)
        except psycopg.OperationalError as error:
            raise _unavailable(settings, error) from None
    return KeyTable(settings.ensure_home() / FILE_NAME, settings.privacy_master_key,
                    settings.sqlite_synchronous)


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
        settings.ensure_home()
    the_catalogue = catalogue or build_catalogue(settings)
    for attempt in range(1, attempts + 1):
        try:
            with _said_if_slow(settings):
                desk = kind(the_catalogue, clock=clock, env=settings.event_store_env(),
                            rng=BufferedSystemRandom())
            desk.personal = build_keys(settings)  # once the store is known to be reachable
            return desk
        except PersistenceError as error:
            if attempt < attempts and any(race in str(error) for race in CREATION_RACES):
                time.sleep(0.2 * attempt)
                continue
            if isinstance(error, OperationalError | InterfaceError):
                raise _unavailable(settings, error) from None
            raise
    raise AssertionError("unreachable")


def store_address(settings: Settings) -> str:
    """Where the event store is, for messages: ``host:port`` or the SQLite file (no password)."""
    if settings.is_postgres:
        host, port = postgres_address(settings.database_url, "TICKETS_DATABASE_URL")
        return f"{host}:{port}"
    return settings.database_url.removeprefix("sqlite:///")


def _unavailable(settings: Settings, error: Exception) -> StoreUnavailable:
    if settings.is_postgres:
        return StoreUnavailable(
            f"cannot use the event store at {store_address(settings)} (a connection is waited for "
            f"{settings.database_connect_timeout} s at most, TICKETS_DATABASE_CONNECT_TIMEOUT): {error}",
            field="TICKETS_DATABASE_URL", rule="reachable")
    return StoreUnavailable(f"cannot open the event store {store_address(settings)}: {error}",
                            field="TICKETS_DATABASE_URL", rule="openable")


@contextmanager
def _said_if_slow(settings: Settings) -> Iterator[None]:
    """Log what the process waits for, and for how long at most, if connecting is slow."""
    if not settings.is_postgres:
        yield
        return
    import structlog  # here, not above: a command on the embedded store need not load it (tickets.logs)

    log = structlog.get_logger("tickets.wiring")
    timer = threading.Timer(SLOW_CONNECT_NOTE_S, lambda: log.warning(
        "event_store_waiting", address=store_address(settings),
        timeout_s=settings.database_connect_timeout, setting="TICKETS_DATABASE_CONNECT_TIMEOUT"))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
