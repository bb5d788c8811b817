"""Staged batches on PostgreSQL, written by ``consumers.event_writer`` instead of eventsourcing's insert.

The batch scenarios of ``tests/unit/test_intake_apply.py`` run again on a fresh PostgreSQL schema
(not ``public``); then what only the real store shows: the writer's rows are eventsourcing's rows
(a plain desk reads them, the notification log is gap-free and in order), a clash leaves nothing
written and the connection fit for the next batch, and a write waits for another writer's lock
on the events table.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator

import pytest
from eventsourcing.persistence import IntegrityError

from tests.servers import PostgresDatabase
from tests.unit import test_intake_apply
from tests.unit.test_intake_apply import change, commands, opening
from tickets.application.clock import VirtualClock
from tickets.application.commands import receipt_key
from tickets.application.desk import TicketDesk
from tickets.config import persistence_env
from tickets.consumers.event_writer import PostgresEventWriter
from tickets.consumers.intake_apply import apply_commands
from tickets.consumers.staging import StagingDesk
from tickets.domain.actor import Actor
from tickets.domain.catalogue import Catalogue

pytestmark = pytest.mark.integration

# The scenarios that take ``staging_desk``, collected again here so that they use this module's.
globals().update({name: test for name, test in vars(test_intake_apply).items()
                  if name.startswith("test_") and "staging_desk" in test.__code__.co_varnames})


@pytest.fixture
def url(pg_schema: PostgresDatabase) -> str:
    return (f"postgresql://{pg_schema.user}:{pg_schema.password}@{pg_schema.host}:{pg_schema.port}/"
            f"{pg_schema.dbname}?schema={pg_schema.schema}")


@pytest.fixture
def staging_desk(url: str, catalogue: Catalogue, clock: VirtualClock) -> Iterator[StagingDesk]:
    desk = StagingDesk(catalogue, clock=clock, env=persistence_env(url), rng=random.Random(7))
    yield desk
    desk.close()


def test_the_batch_is_written_by_the_event_writer(staging_desk: StagingDesk) -> None:
    apply_commands(staging_desk, commands(opening("o-1"), opening("o-2")))
    assert isinstance(staging_desk._writer, PostgresEventWriter)
    assert staging_desk.write_staged([]) == []


def test_its_rows_are_eventsourcings_gap_free_and_in_order(
    staging_desk: StagingDesk, url: str, catalogue: Catalogue, clock: VirtualClock,
) -> None:
    number = apply_commands(staging_desk, commands(opening("o-1")))[0].answer.ticket_number
    assert number is not None
    done = apply_commands(staging_desk, commands(
        change("a-1", "assign", number, 2, agent="a-1"), opening("o-2"),
        change("r-1", "respond", number, 3)))
    assert all(d.answer.accepted for d in done)
    reader = TicketDesk(catalogue, clock=clock, env=persistence_env(url))
    try:
        assert reader.get(number).version == 3
        log = reader.notification_log.select(start=1, limit=100)
        assert len(log) == 8  # four commands, each its ticket event and its receipt
        assert [n.id for n in log] == list(range(log[0].id, log[0].id + 8))
        assert [e.type for e in reader.history(number)] == ["Opened", "Assigned", "Responded"]
        assert len(list(reader.opened_ticket_ids())) == 2
        assert reader.receipt(receipt_key(opening("o-2"), test_intake_apply.SERVICE)) is not None
    finally:
        reader.close()


def test_a_clash_writes_nothing_and_the_next_batch_goes_through(staging_desk: StagingDesk) -> None:
    number = apply_commands(staging_desk, commands(opening("o-1")))[0].answer.ticket_number
    assert number is not None
    ticket = staging_desk.get(number)
    ticket.respond(at=staging_desk.clock.now(), now=staging_desk.clock.now(),
                   actor=Actor("agent", "a-1"), channel="intake")
    events = list(ticket.collect_events())
    ids = staging_desk.write_staged(events)
    before = staging_desk.notification_log.select(start=1, limit=100)
    assert [n.id for n in before[-1:]] == ids
    with pytest.raises(IntegrityError):
        staging_desk.write_staged(events)  # the same (id, version) again
    assert len(staging_desk.notification_log.select(start=1, limit=100)) == len(before)
    later = apply_commands(staging_desk, commands(opening("o-2"), opening("o-3")))
    assert all(d.answer.accepted and not d.answer.duplicate for d in later)
    assert len(staging_desk.notification_log.select(start=1, limit=100)) == len(before) + 4


def test_a_write_waits_for_another_writers_lock_on_the_events_table(
    staging_desk: StagingDesk, pg_schema: PostgresDatabase,
) -> None:
    apply_commands(staging_desk, commands(opening("o-1")))
    table = f'"{pg_schema.schema}"."{staging_desk.recorder.events_table_name}"'  # type: ignore[attr-defined]
    finished: list[float] = []

    def write() -> None:
        apply_commands(staging_desk, commands(opening("o-2"), opening("o-3")))
        finished.append(time.monotonic())

    with pg_schema.connect() as other:
        other.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        writer = threading.Thread(target=write)
        writer.start()
        time.sleep(0.5)
        assert not finished  # the other writer holds the lock
        released = time.monotonic()
        other.rollback()
        writer.join(timeout=10)
    assert finished and finished[0] >= released
    assert len(list(staging_desk.opened_ticket_ids())) == 3
