"""What ``tickets serve`` reads on PostgreSQL in its own way: ticket-list pages walked in index
order (a row-comparison cursor, planner settings local to the page's transaction), the dashboard's
figures from the projection's counters with every percentile in one statement, and the read
follower's one-statement look on an asyncio connection, each held against an answer worked out
here from the rows themselves."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from tests.servers import PostgresDatabase
from tickets.consumers import change_log, consumer_offsets
from tickets.consumers.change_log import record
from tickets.consumers.consumer_offsets import advance
from tickets.domain.catalogue import Catalogue
from tickets.http.indexes import ensure_read_models
from tickets.http.read_follower import ReadFollower
from tickets.http.ticket_list import TicketQuery, list_tickets, page_reads, page_steps, sla_state
from tickets.projections.dashboard import COUNTS, figures
from tickets.projections.dashboard_figures import rank
from tickets.projections.dashboard_state import ROW_COLUMNS, fr_bucket
from tickets.projections.readstore import ReadStore
from tickets.wire.envelope import GENESIS, Envelope, format_time

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
DESKS, SEVERITIES = ("web", "zoom", "o365"), ("P1", "P2", "B")
STATUSES = ("new", "open", "action_needed", "closed")


@pytest.fixture
def store(pg_database: PostgresDatabase, catalogue: Catalogue) -> Iterator[ReadStore]:
    made = ReadStore(pg_database.dsn)
    ensure_read_models(made, catalogue)
    change_log.create_table(made)
    consumer_offsets.create_table(made)
    yield made
    made.close()


def _rows(count: int) -> list[tuple[Any, ...]]:
    """Tickets with running clocks (many sharing a due time, so the cursor's tie-break is used)
    and with fixed states, over desks, severities and statuses; most answered once."""
    rng = random.Random(11)
    rows = []
    for _ in range(count):
        running = rng.random() < 0.6
        status = rng.choice(STATUSES[:3]) if running else rng.choice(STATUSES)
        due = NOW + timedelta(hours=rng.choice((-30, -5, -1, 1, 2, 2, 2, 8)))
        answer = rng.choice((30, 600, 3600, 3601, 86_400)) + rng.random()
        seconds = None if rng.random() < 0.2 else float(answer)
        rows.append((str(uuid.UUID(int=rng.getrandbits(128))), rng.choice(DESKS), rng.choice(SEVERITIES),
                     status, seconds, None if seconds is None else fr_bucket(seconds),
                     None if running else rng.choice(("met", "breached", "running", None)),
                     format_time(due - timedelta(hours=1)) if running else None,
                     format_time(due) if running else None))
    return rows


def _expected(rows: list[tuple[Any, ...]], query: TicketQuery) -> list[str]:
    """The list's order (running clocks by due time then id, then the rest by id), filtered."""
    at = format_time(NOW)
    wanted = []
    for ticket_id, desk, severity, status, _, _, static, risk_at, breach_at in rows:
        state = sla_state(static, risk_at, breach_at, at)
        if ((not query.desks or desk in query.desks) and (not query.statuses or status in query.statuses)
                and (not query.severities or severity in query.severities)
                and (not query.sla_states or state in query.sla_states)):
            wanted.append((breach_at is None, breach_at or "", ticket_id))
    return [ticket_id for _, _, ticket_id in sorted(wanted)]


QUERIES = [
    TicketQuery(),
    TicketQuery(desks=("zoom",), statuses=("open",)),
    TicketQuery(desks=("o365",), sla_states=("breached",)),
    TicketQuery(statuses=("new", "open"), severities=("B",)),
    TicketQuery(sla_states=("at_risk", "breached")),
    TicketQuery(desks=("web",), statuses=("closed",)),
    TicketQuery(sla_states=("running", "met")),
    TicketQuery(statuses=("action_needed",), severities=("P1", "P2")),
]


def _insert(store: ReadStore, rows: list[tuple[Any, ...]]) -> None:
    """The rows and the counters they move, as the dashboard projection's runner writes them."""
    with store.transaction() as tx:
        tx.executemany(f"INSERT INTO dashboard_tickets ({', '.join(ROW_COLUMNS)}) "
                       f"VALUES ({', '.join('?' * len(ROW_COLUMNS))})", rows)
        for statement, moved in COUNTS.moves(rows, ()):
            tx.executemany(statement, moved)
        tx.execute("ANALYZE dashboard_tickets")


@pytest.mark.parametrize("limit", [1, 7, 50])
def test_pages_on_postgresql_follow_the_list_order_without_gaps_or_repeats(
    store: ReadStore, limit: int
) -> None:
    rows = _rows(400)
    _insert(store, rows)
    for query in QUERIES:
        seen: list[str] = []
        after = None
        for _ in range(500):
            page = list_tickets(store, TicketQuery(**{**query.__dict__, "limit": limit, "after": after}), NOW)
            seen += [t.ticket_id for t in page.tickets]
            after = page.next
            if after is None:
                break
        assert seen == _expected(rows, query), query


def test_the_dashboard_figures_on_postgresql_equal_a_count_of_the_rows(store: ReadStore) -> None:
    """Open tickets per status and first-response percentiles (nearest rank) per desk and
    severity, as read from the counters and the rank lookups, against the rows counted here."""
    rows = _rows(600)
    _insert(store, rows)
    found = figures(store, NOW)
    counted: dict[tuple[str, str, str], int] = {}
    answered: dict[tuple[str, str], list[float]] = {}
    for _, desk, severity, status, seconds, *_ in rows:
        if status != "closed":
            counted[(desk, severity, status)] = counted.get((desk, severity, status), 0) + 1
        if seconds is not None:
            answered.setdefault((desk, severity), []).append(seconds)
    assert {(o.desk, o.severity, o.status): o.tickets for o in found.open_by_desk_severity_status} == counted
    expected = []
    for (desk, severity), values in sorted(answered.items()):
        ordered = sorted(values)
        expected.append((desk, severity, len(ordered),
                         *(ordered[rank(p, len(ordered)) - 1] for p in (50, 90, 99))))
    assert [tuple(f) for f in found.first_response] == expected


def _envelope(ticket: int, version: int) -> Envelope:
    return Envelope(ticket_id=str(uuid.UUID(int=ticket)), ticket_number=f"N-{ticket}", desk="web",
                    type="Responded", version=version, occurred_at="2026-03-02T08:00:00.000000Z",
                    recorded_at="2026-03-02T08:00:00.000000Z", position=ticket * 100 + version,
                    actor="agent:a", channel="api", payload={}, prev_hash=GENESIS, hash="0" * 64)


def _commit(store: ReadStore, partition: int, start: int, items: list[Envelope]) -> None:
    moves = {partition: (start or None, start + len(items))}
    with store.transaction() as tx:
        advance(tx, "projections", "tickets.events", moves)
        record(tx, "projections", "tickets.events", items,
               [(partition, start + i) for i in range(len(items))], moves)
        tx.execute("INSERT INTO projection_positions (projection, position) VALUES ('dashboard', ?) "
                   "ON CONFLICT (projection) DO UPDATE SET position = excluded.position",
                   (partition * 1000 + start + len(items),))


def test_the_one_statement_look_finds_what_the_look_in_a_snapshot_finds(store: ReadStore) -> None:
    """Two followers, one looking in a snapshot (any database), one in one statement on an asyncio
    connection, see the same commits: the same changes in the same order, the same marks, and a
    partition that went back said as rewound by both."""
    by_snapshot = ReadFollower(store, "projections", "tickets.events", mark_interval=0)
    by_statement = ReadFollower(store, "projections", "tickets.events", mark_interval=0)

    async def both() -> list[tuple[Any, ...]]:
        async with await psycopg.AsyncConnection.connect(store.url, autocommit=True) as conn:
            looks = []
            for step in range(4):
                if step == 1:
                    _commit(store, 0, 1, [_envelope(1, 2), _envelope(2, 1)])
                    _commit(store, 3, 0, [_envelope(3, 1)])  # a partition not seen before
                    _commit(store, 0, 3, [_envelope(1, 3)])
                    _commit(store, 0, 4, [_envelope(1, 3)])  # delivered twice: handed on once
                if step == 3:
                    with store.transaction() as tx:  # a rebuild starts partition 0 again
                        tx.execute("UPDATE consumer_offsets SET next_offset = 0 WHERE partition = 0")
                a, b = by_snapshot.look(), await by_statement.look_on(conn)
                looks.append((a, b))
            return looks

    _commit(store, 0, 0, [_envelope(1, 1)])
    looks = asyncio.run(both())
    for a, b in looks:
        assert (a.changes, a.marks, a.position, a.rewound) == (b.changes, b.marks, b.position, b.rewound)
    first, second, quiet, rewound = (b for _, b in looks)
    assert first.changes == [] and first.marks == {"projections/0": 1, "dashboard": 1}
    assert [(c.partition, c.number, c.version) for c in second.changes] == [
        (0, "N-1", 2), (0, "N-2", 1), (0, "N-1", 3), (3, "N-3", 1)]
    assert second.marks == {"projections/0": 5, "projections/3": 1, "dashboard": 5}
    assert quiet.changes == [] and rewound.rewound == [0]


def test_a_first_page_filled_by_running_clocks_never_reads_the_rest(store: ReadStore) -> None:
    """Both parts go in one statement; PostgreSQL stops at the page's end, so the rest's scan is
    never started when the running clocks fill the page, and is when they do not."""
    rows = _rows(400)
    _insert(store, rows)

    def plan(query: TicketQuery) -> str:
        sql, params = next(page_steps("postgres", query, NOW))
        with page_reads(store) as tx:
            return "\n".join(line for line, in tx.execute(f"EXPLAIN (ANALYZE, COSTS OFF) {sql}", params))

    running = sum(1 for row in rows if row[8] is not None)
    filled, spilled = plan(TicketQuery(limit=10)), plan(TicketQuery(limit=running + 10))
    assert "Append" in filled and "never executed" in filled
    assert "never executed" not in spilled
