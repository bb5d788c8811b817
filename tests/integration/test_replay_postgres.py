"""The five replay tools on PostgreSQL: the event store and the read models in a fresh schema each.

The same behaviours as the SQLite unit tests: a ticket as of a time, byte-identical exports with the
trail's hashes, tampering found by ticket and version, a rebuild (in two processes, into a schema
of its own) equal to the live projections row for row and resumable, and a what-if that leaves
the live projections untouched.
"""

from __future__ import annotations

import json
import random
import secrets
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest

from tests.servers import PostgresAccess, PostgresDatabase
from tests.unit.replay_week import WEEK_END, WEEK_START, project, write_week
from tickets.application.clock import VirtualClock
from tickets.application.desk import TicketDesk
from tickets.domain.catalogue import Catalogue
from tickets.domain.errors import ValidationError
from tickets.projections.audit_trail import trail
from tickets.projections.readstore import ReadStore
from tickets.projections_registry import all_projections
from tickets.replay.as_of import as_of
from tickets.replay.compare import compare
from tickets.replay.export import Scope, export
from tickets.replay.history_guard import guard_swap
from tickets.replay.integrity import verify
from tickets.replay.rebuild import rebuild
from tickets.replay.target import postgres_schema
from tickets.replay.what_if import what_if

pytestmark = pytest.mark.integration


@pytest.fixture
def desk(pg_schema: PostgresDatabase, catalogue: Catalogue) -> Iterator[TicketDesk]:
    desk = TicketDesk(catalogue, clock=VirtualClock(WEEK_END), env=pg_schema.eventsourcing_env(),
                      rng=random.Random(7))
    write_week(desk, tickets=20)
    yield desk
    desk.close()


@pytest.fixture
def live(desk: TicketDesk, pg_schema: PostgresDatabase) -> Iterator[ReadStore]:
    store = ReadStore(pg_schema.dsn)
    project(desk, store, batch_size=9)
    yield store
    store.close()


@pytest.fixture
def fresh_schema(postgres_server: PostgresAccess, pg_schema: PostgresDatabase) -> Iterator[str]:
    """The URL of a schema that does not exist yet (the rebuild creates it); dropped after the test."""
    name = f"rb_{secrets.token_hex(5)}"
    yield pg_schema.with_schema(name).dsn
    postgres_server.drop_schema(name)


def tamper(pg_schema: PostgresDatabase, sql: str, *params: object) -> None:
    with pg_schema.connect(autocommit=True) as conn:
        conn.execute(sql.replace("EVENTS", f'"{pg_schema.schema}".tickets_events'), params)


def test_as_of_a_time_on_postgres(desk: TicketDesk) -> None:
    n = next(n for n in _numbers(desk) if len(desk.history(n)) >= 3)
    third = desk.history(n)[2]
    result = as_of(desk, n, at=third.occurred_at)
    assert result.version >= 3 and result.steps[2].entry.type == third.type
    assert result.report.policy_version == desk.catalogue.desk(result.facts.desk).version


def test_exports_are_byte_identical_and_carry_the_trails_hashes(
    desk: TicketDesk, live: ReadStore, tmp_path: Path
) -> None:
    outs = [tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "a.csv", tmp_path / "b.csv"]
    export(desk, Scope(), [outs[0], outs[2]])
    export(desk, Scope(), [outs[1], outs[3]])
    assert outs[0].read_bytes() == outs[1].read_bytes() and outs[2].read_bytes() == outs[3].read_bytes()
    rows = [json.loads(line) for line in outs[0].read_text().splitlines()]
    recorded = {(e.ticket_id, e.version): e.hash for n in _numbers(desk)
                for e in trail(live, ticket_id=desk.ticket_id(n))}
    assert {(r["ticket_id"], r["version"]): r["hash"] for r in rows} == recorded


def test_altered_removed_and_swapped_events_are_found_on_postgres(
    desk: TicketDesk, live: ReadStore, pg_schema: PostgresDatabase
) -> None:
    assert verify(desk, live).ok
    long = sorted(_numbers(desk), key=lambda n: -len(desk.history(n)))
    removed, swapped = (desk.ticket_id(n) for n in long[:2])
    altered = next(desk.ticket_id(n) for n in long[2:] if desk.history(n)[1].actor == "agent:a-7")
    tamper(pg_schema, "UPDATE EVENTS SET state = convert_to(replace(convert_from(state, 'UTF8'), "
                      "'agent:a-7', 'agent:x'), 'UTF8') WHERE originator_id = %s "
                      "AND originator_version = 2", altered)
    tamper(pg_schema, "DELETE FROM EVENTS WHERE originator_id = %s AND originator_version = 3", removed)
    for old, new in ((3, -1), (4, 3), (-1, 4)):
        tamper(pg_schema, "UPDATE EVENTS SET originator_version = %s WHERE originator_id = %s "
                          "AND originator_version = %s", new, swapped, old)
    report = verify(desk, live)
    found = {(f.ticket_id, f.version, f.kind) for f in report.findings}
    assert (str(altered), 2, "altered") in found
    assert (str(removed), 3, "removed") in found
    assert {(str(swapped), 3, "reordered"), (str(swapped), 4, "reordered")} <= found
    assert {t.ticket_id: t.broken_at for t in report.broken}[str(swapped)] == 3
    assert not report.ok


def test_a_rebuild_into_a_fresh_schema_equals_the_live_projections(
    desk: TicketDesk, live: ReadStore, fresh_schema: str
) -> None:
    projections = all_projections(desk.catalogue)
    first = rebuild(desk, projections, fresh_schema, parts=2, batch_size=30, max_batches=1,
                    progress=False)
    assert not first.complete
    second = rebuild(desk, projections, fresh_schema, parts=2, batch_size=30, progress=False)
    assert second.complete
    diffs = compare(live, ReadStore(fresh_schema), projections)
    assert [d for d in diffs if not d.same] == []
    assert sum(d.live_rows for d in diffs if d.table == "audit_trail") == first.events + second.events


def test_a_rebuild_over_an_altered_store_may_not_replace_the_recorded_history_on_postgres(
    desk: TicketDesk, live: ReadStore, pg_schema: PostgresDatabase, fresh_schema: str,
    postgres_server: PostgresAccess,
) -> None:
    projections = all_projections(desk.catalogue)
    assert rebuild(desk, projections, fresh_schema, parts=1, progress=False).complete
    untouched = guard_swap(pg_schema.dsn, fresh_schema)
    assert untouched.kept and untouched.compared == sum(len(desk.history(n)) for n in _numbers(desk))
    altered = next(desk.ticket_id(n) for n in _numbers(desk) if desk.history(n)[1].actor == "agent:a-7")
    tamper(pg_schema, "UPDATE EVENTS SET state = convert_to(replace(convert_from(state, 'UTF8'), "
                      "'agent:a-7', 'agent:x'), 'UTF8') WHERE originator_id = %s "
                      "AND originator_version = 2", altered)
    second = f"{postgres_schema(fresh_schema)}_again"
    again = pg_schema.with_schema(second).dsn
    try:
        assert rebuild(desk, projections, again, parts=2, progress=False).complete
        with pytest.raises(ValidationError) as refused:
            guard_swap(pg_schema.dsn, again)
        assert refused.value.rule == "audit_history_kept" and f"{altered} v2" in str(refused.value)
        check = guard_swap(pg_schema.dsn, again, accept_changed_history=True)
        assert check.examples["rewritten"][0] == (str(altered), 2) and check.removed == 0
    finally:
        postgres_server.drop_schema(second)


def test_what_if_on_postgres_leaves_the_live_projections_untouched(
    desk: TicketDesk, live: ReadStore, tmp_path: Path
) -> None:
    text = resources.files("domain").joinpath("policies", "zoom.toml").read_text("utf-8")
    policy = tmp_path / "zoom.toml"
    policy.write_text(text.replace('within = "4 hours"', 'within = "1 minute"'), encoding="utf-8")
    before = live.read("SELECT * FROM sla_timers ORDER BY ticket_id, kind")
    result = what_if(desk, policy, WEEK_START, WEEK_END)
    assert result.tickets
    assert live.read("SELECT * FROM sla_timers ORDER BY ticket_id, kind") == before


def _numbers(desk: TicketDesk) -> list[str]:
    return [desk.get(ticket_id).number for ticket_id in desk.opened_ticket_ids()]
