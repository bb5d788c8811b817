"""The group's admission of envelopes (``projections.admission``): hash, link and version, decided once."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from tickets.projections.admission import Head, admit
from tickets.projections.audit_hash import envelope_content
from tickets.projections.base import Projection
from tickets.projections.readstore import ReadStore
from tickets.projections.runner import apply_batch, create_schema
from tickets.wire.envelope import GENESIS, Envelope, chained_hash

TICKET = "672e4940-4dd6-5bcf-8cb4-9ae0f13981d7"
OTHER = "0b0c0d0e-0000-5000-8000-000000000001"


def sealed(version: int, prev_hash: str, ticket: str = TICKET, **changes: Any) -> Envelope:
    """An envelope whose hash is that of its content and ``prev_hash``."""
    fields: dict[str, Any] = dict(
        ticket_id=ticket, ticket_number="VIA-84G7ZW", desk="vianet",
        type="Opened" if version == 1 else "Responded", version=version,
        occurred_at=f"2026-03-02T08:{version:02d}:00.000000Z",
        recorded_at=f"2026-03-02T08:{version:02d}:01.000000Z", position=10 * version,
        actor="agent:a-1", channel="api", payload={"n": version}, prev_hash=prev_hash, hash="")
    fields.update(changes)
    envelope = Envelope(**fields)
    return replace(envelope, hash=chained_hash(prev_hash, envelope_content(envelope)))


def chain(versions: int, ticket: str = TICKET) -> list[Envelope]:
    out: list[Envelope] = []
    for version in range(1, versions + 1):
        out.append(sealed(version, out[-1].hash if out else GENESIS, ticket))
    return out


def only(heads: dict[str, Head], batch: list[Envelope]) -> tuple[list[int], list[tuple[int, str]]]:
    ((fresh, aside),) = admit([(heads, batch)])
    return [e.version for e in fresh], [(e.version, reason) for e, reason in aside]


def test_a_chain_that_holds_is_applied_and_its_heads_move_on() -> None:
    events = chain(3)
    heads: dict[str, Head] = {}
    assert only(heads, events) == ([1, 2, 3], [])
    assert heads == {TICKET: (3, events[2].hash)}


def test_an_altered_event_is_set_aside_and_the_real_one_arriving_later_is_applied() -> None:
    first, real = chain(2)
    forged = replace(real, type="Closed", payload={"reason": "resolved"})  # hash kept
    heads: dict[str, Head] = {}
    fresh, aside = only(heads, [first, forged])
    assert fresh == [1]
    assert aside == [(2, "hash mismatch at version 2: the hash is not that of the content")]
    assert only(heads, [real]) == ([2], [])


def test_a_resealed_event_that_does_not_link_to_the_applied_version_is_set_aside() -> None:
    first, real = chain(2)
    forged = sealed(2, "f" * 64, type="Closed", payload={"reason": "resolved"})
    heads: dict[str, Head] = {}
    fresh, aside = only(heads, [first, forged, real])
    assert fresh == [1, 2]
    assert aside == [(2, "broken link at version 2: prev_hash is not the hash of version 1 as applied")]
    assert heads[TICKET] == (2, real.hash)


def test_a_first_version_must_link_to_the_genesis_hash() -> None:
    forged = sealed(1, "a" * 64)
    assert only({}, [forged])[1] == [
        (1, "broken link at version 1: prev_hash is not the hash of version 0 as applied")]


def test_versions_already_applied_are_skipped_and_one_with_another_hash_is_set_aside() -> None:
    first, second = chain(2)
    other = sealed(2, first.hash, type="Closed", payload={"reason": "resolved"})
    heads: dict[str, Head] = {TICKET: (2, second.hash)}
    assert only(heads, [first, second]) == ([], [])
    assert only(heads, [other]) == ([], [(2, "version 2 was applied with another hash")])
    altered = replace(second, payload={"n": 99})  # the applied hash, other content
    assert only(heads, [altered]) == (
        [], [(2, "hash mismatch at version 2: the hash is not that of the content")])


def test_a_gap_is_set_aside_with_the_version_expected() -> None:
    events = chain(4)
    assert only({}, [events[0], events[2], events[3]]) == (
        [1], [(3, "gap in versions: expected 2, got 3"), (4, "gap in versions: expected 2, got 4")])


def test_a_version_applied_before_hashes_were_kept_is_trusted_for_its_link_once() -> None:
    events = chain(3)
    heads: dict[str, Head] = {TICKET: (1, None)}
    assert only(heads, events[1:]) == ([2, 3], [])
    assert only({TICKET: (1, None)}, [replace(events[1], payload={"n": 99})])[1][0][1].startswith(
        "hash mismatch")


def test_what_one_projection_refuses_no_projection_of_the_group_applies() -> None:
    first, real = chain(2)
    forged = sealed(2, "f" * 64, type="Closed", payload={"reason": "resolved"})
    knows_the_hash: dict[str, Head] = {TICKET: (1, first.hash)}
    kept_no_hash: dict[str, Head] = {TICKET: (1, None)}  # alone, it would take the forged link
    results = admit([(knows_the_hash, [forged, real]), (kept_no_hash, [forged, real])])
    for fresh, aside in results:
        assert [e is real for e in fresh] == [True]
        assert [e for e, _ in aside] == [forged]
    assert knows_the_hash[TICKET] == kept_no_hash[TICKET] == (2, real.hash)


def test_tickets_are_judged_apart() -> None:
    mine, theirs = chain(2), chain(2, OTHER)
    forged = replace(theirs[1], payload={"n": 7})
    fresh, aside = only({}, [mine[0], theirs[0], forged, mine[1]])
    assert fresh == [1, 1, 2] and [v for v, _ in aside] == [2]


def test_the_integrity_check_reports_applied_versions_the_store_does_not_hold_or_hashes_otherwise() -> None:
    from tickets.replay.chain_check import StoredContent, check_chain

    events = chain(2)
    stored = [StoredContent(e.version, envelope_content(e)) for e in events]
    clean = check_chain(TICKET, "VIA-84G7ZW", stored, [], applied=[("dashboard", 2, events[1].hash)])
    assert clean.findings == []
    forged = sealed(3, events[1].hash, type="Closed", payload={"reason": "resolved"})
    report = check_chain(TICKET, "VIA-84G7ZW", stored, [], applied=[
        ("dashboard", 3, forged.hash), ("sla_timers", 2, "e" * 64), ("audit_trail", 2, None)])
    assert [(f.version, f.kind, f.detail.split("(")[-1]) for f in report.findings] == [
        (3, "applied_unknown", "dashboard)"), (2, "applied_altered", "sla_timers)")]
    phantom = check_chain(OTHER, "", [], [], applied=[("dashboard", 1, "a" * 64)])
    assert [(f.version, f.kind) for f in phantom.findings] == [(1, "applied_unknown")]


def test_a_read_model_made_before_hashes_were_kept_gets_the_column_and_checks_links_from_there(
    tmp_path: Path,
) -> None:
    store = ReadStore(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    events = chain(3)
    with store.transaction() as tx:
        tx.execute("CREATE TABLE projection_versions (projection TEXT NOT NULL, ticket_id TEXT NOT NULL, "
                   "version BIGINT NOT NULL, PRIMARY KEY (projection, ticket_id))")
        tx.execute("INSERT INTO projection_versions VALUES ('counted', ?, 1)", (TICKET,))
    projection = Counted()
    create_schema(store, [projection])
    create_schema(store, [projection])  # a second start finds the column there
    forged = sealed(2, "e" * 64)
    with store.transaction() as tx:
        assert apply_batch(tx, projection, [events[1]]) == []  # the link to version 1 is trusted once
        aside = apply_batch(tx, projection, [sealed(3, "e" * 64), forged])
    assert [a.reason.split(":")[0] for a in aside] == [
        "broken link at version 3", "version 2 was applied with another hash"]
    assert store.read("SELECT version, hash FROM projection_versions") == [(2, events[1].hash)]
    assert projection.applied == [2]
    store.close()


class Counted(Projection[int]):
    """A projection that only remembers which versions it was given."""

    name = "counted"

    def __init__(self) -> None:
        self.applied: list[int] = []

    def evolve(self, state: int | None, envelope: Envelope) -> int:
        self.applied.append(envelope.version)
        return envelope.version
