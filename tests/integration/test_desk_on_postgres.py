"""The desk on real stores: the lifecycle scenarios again on a SQLite file and on PostgreSQL.

The unit tests run ``TicketDesk`` on eventsourcing's in-memory store. Here the same scenarios
(imported from ``tests/unit``) run once on a SQLite file and once on a fresh PostgreSQL schema per
test, with the store chosen the way the engine chooses it (``persistence_env`` of a database URL).
Then what only a real database shows: tables created on first use, two processes changing one
ticket at once, concurrent registrations against the three-editor limit, the same command sent
twice at once, and ticket numbers drawn twice.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers import PostgresDatabase
from tests.unit import test_commands, test_ticket_lifecycle
from tickets.application.clock import VirtualClock
from tickets.application.commands import Answer, execute
from tickets.application.desk import TicketDesk
from tickets.config import persistence_env
from tickets.domain.actor import Actor
from tickets.domain.catalogue import Catalogue
from tickets.domain.errors import ConcurrencyError, EntitlementError

pytestmark = pytest.mark.integration

# The scenarios, collected again here so that they use this module's ``desk`` fixture.
for _module in (test_ticket_lifecycle, test_commands):
    globals().update({name: test for name, test in vars(_module).items() if name.startswith("test_")})

AGENT = Actor("agent", "a-1")
SERVICE = Actor("service", "webform")


def postgres_url(schema: PostgresDatabase) -> str:
    return (f"postgresql://{schema.user}:{schema.password}@{schema.host}:{schema.port}/"
            f"{schema.dbname}?schema={schema.schema}")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'events.sqlite3'}"
    schema: PostgresDatabase = request.getfixturevalue("pg_schema")
    return postgres_url(schema)


@pytest.fixture
def desks(store_url: str, catalogue: Catalogue, clock: VirtualClock) -> Iterator[Callable[..., TicketDesk]]:
    """Make desks on one store, as separate processes would have (each its own cache)."""
    made: list[TicketDesk] = []

    def make(seed: int = 7) -> TicketDesk:
        desk = TicketDesk(catalogue, clock=clock, env=persistence_env(store_url),
                          rng=random.Random(seed))
        made.append(desk)
        return desk

    yield make
    for desk in made:
        desk.close()


@pytest.fixture
def desk(desks: Callable[..., TicketDesk]) -> TicketDesk:
    return desks()


def open_ticket(desk: TicketDesk, command_id: str | None = None) -> str:
    return desk.open(desk="o365", requester="c-1", requester_role="admin", title="Mail down",
                     severity="B", actor=SERVICE, command_id=command_id).number


def test_postgres_is_chosen_by_the_database_url_and_its_tables_created_on_first_use(
    pg_schema: PostgresDatabase, catalogue: Catalogue, clock: VirtualClock,
) -> None:
    env = persistence_env(postgres_url(pg_schema))
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert env["POSTGRES_SCHEMA"] == pg_schema.schema
    desk = TicketDesk(catalogue, clock=clock, env=env)
    try:
        number = open_ticket(desk)
    finally:
        desk.close()
    with pg_schema.connect() as conn:
        tables = {row[0] for row in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (pg_schema.schema,)).fetchall()}
        rows = conn.execute("SELECT count(*) FROM tickets_events").fetchone()
    assert "tickets_events" in tables and rows == (1,)
    again = TicketDesk(catalogue, clock=clock, env=env)  # a new process: no cache
    try:
        assert again.get(number).status == "new"
    finally:
        again.close()


def test_a_change_that_loses_the_race_is_a_concurrency_error(
    desks: Callable[..., TicketDesk],
) -> None:
    mine, theirs = desks(), desks()
    number = open_ticket(mine)
    load = mine.get

    def load_then_lose(ref: Any) -> Any:
        ticket = load(ref)
        theirs.respond(number, actor=Actor("agent", "a-2"))  # saved between my load and save
        return ticket

    mine.get = load_then_lose  # type: ignore[method-assign]
    with pytest.raises(ConcurrencyError) as caught:
        mine.assign(number, "a-1", actor=AGENT)
    assert (caught.value.field, caught.value.rule) == ("version", "optimistic_concurrency")
    assert [e.type for e in theirs.history(number)] == ["Opened", "Responded"]


def test_two_threads_changing_one_ticket_lose_no_update(desks: Callable[..., TicketDesk]) -> None:
    first = desks()
    number = open_ticket(first)
    won: list[int] = []
    lost: list[int] = []
    start = threading.Barrier(2)

    def work(desk: TicketDesk, thread: int) -> None:
        start.wait()
        for _ in range(15):
            try:
                desk.respond(number, actor=Actor("agent", f"a-{thread}"))
                won.append(thread)
            except ConcurrencyError:
                lost.append(thread)

    threads = [threading.Thread(target=work, args=(desk, n)) for n, desk in
               enumerate((first, desks()))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    history = first.history(number)
    assert len(won) + len(lost) == 30
    assert [e.version for e in history] == list(range(1, 2 + len(won)))
    assert sorted(e.actor for e in history[1:]) == sorted(f"agent:a-{t}" for t in won)


def test_concurrent_registrations_let_exactly_three_editors_in(
    desks: Callable[..., TicketDesk],
) -> None:
    applicants = 6
    start = threading.Barrier(applicants)
    outcomes: dict[str, str] = {}

    def register(desk: TicketDesk, editor: str) -> None:
        start.wait()
        try:
            desk.add_editor("web", "5150", editor)
            outcomes[editor] = "registered"
        except EntitlementError as refused:
            outcomes[editor] = str(refused.rule)

    threads = [threading.Thread(target=register, args=(desks(), f"ed-{n}"))
               for n in range(applicants)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    registered = sorted(e for e, outcome in outcomes.items() if outcome == "registered")
    assert len(registered) == 3
    assert sorted(outcomes.values()) == ["max_editors_per_site"] * 3 + ["registered"] * 3
    assert sorted(desks().editors("web", "5150")) == registered


def test_one_command_sent_twice_at_once_opens_one_ticket(desks: Callable[..., TicketDesk]) -> None:
    message = {"command_id": "twice-1", "type": "open", "desk": "o365", "requester": "c-1",
               "requester_role": "admin", "title": "Mail down", "severity": "B"}
    start = threading.Barrier(2)
    answers: list[Answer] = []

    def send(desk: TicketDesk) -> None:
        start.wait()
        answers.append(execute(desk, message, SERVICE))

    threads = [threading.Thread(target=send, args=(desks(seed),)) for seed in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(a.accepted for a in answers) and len({a.ticket_id for a in answers}) == 1
    assert len(list(desks().opened_ticket_ids())) == 1


def test_a_ticket_number_drawn_twice_is_drawn_again(desks: Callable[..., TicketDesk]) -> None:
    first = open_ticket(desks(seed=11))
    second = open_ticket(desks(seed=11))  # the same draws: its first number is taken
    assert first != second
    assert {desks().get(n).number for n in (first, second)} == {first, second}
