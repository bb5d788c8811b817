"""The audit trail projection: every event in order, a hash chain it checks, queries and masking."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tests.unit.conftest import AGENT, CUSTOMER, SERVICE, at
from tests.unit.projection_support import read_store
from tickets.application.desk import TicketDesk
from tickets.consumers.feed import EmbeddedFeed
from tickets.consumers.store_reader import StoreReader
from tickets.domain.actor import Actor
from tickets.projections.audit_trail import AuditTrailProjection, envelope_content, trail
from tickets.projections.readstore import ReadStore
from tickets.projections.runner import apply_batch, create_schema
from tickets.wire.envelope import GENESIS, Envelope, chained_hash, hashed_content

COLLEAGUE = Actor(AGENT.role, "a-2")


def feed(desk: TicketDesk, store: ReadStore, batch_size: int = 1000) -> EmbeddedFeed:
    return EmbeddedFeed(StoreReader(desk), store, [AuditTrailProjection()], batch_size=batch_size)


def open_ticket(desk: TicketDesk, when: str, **fields: str) -> str:
    return desk.open(desk="o365", plan="elevated", severity="B", requester=CUSTOMER.id,
                     requester_role="admin", title="Mail is down", fields=fields, actor=SERVICE,
                     channel="web", at=at(when)).number


def lifecycle(desk: TicketDesk) -> str:
    n = open_ticket(desk, "2026-11-16T09:00:00+00:00")
    desk.assign(n, "a-1", actor=AGENT, channel="cli", at=at("2026-11-16T09:05:00+00:00"))
    desk.request_info(n, actor=AGENT, channel="email", at=at("2026-11-16T09:10:00+00:00"))
    desk.customer_reply(n, actor=CUSTOMER, channel="email", at=at("2026-11-16T10:00:00+00:00"))
    desk.close_ticket(n, "resolved", actor=AGENT, at=at("2026-11-16T11:00:00+00:00"))
    return n


def all_envelopes(desk: TicketDesk) -> list[Envelope]:
    return StoreReader(desk).read(0, 1000)


def test_trail_holds_every_event_in_order_with_actor_channel_and_times(
    desk: TicketDesk, tmp_path: Path
) -> None:
    n = lifecycle(desk)
    store = read_store(tmp_path)
    feed(desk, store).catch_up()
    entries = trail(store, ticket_id=desk.ticket_id(n))
    history = desk.history(n)
    assert [e.type for e in entries] == [
        "Opened", "Assigned", "InfoRequested", "CustomerReplied", "Closed"]
    assert [e.version for e in entries] == [1, 2, 3, 4, 5]
    assert [e.actor for e in entries] == [
        str(SERVICE), str(AGENT), str(AGENT), str(CUSTOMER), str(AGENT)]
    assert [e.channel for e in entries] == ["web", "cli", "email", "email", "api"]
    assert [e.occurred for e in entries] == [h.occurred_at for h in history]
    assert [e.recorded for e in entries] == [h.recorded_at for h in history]
    assert entries[0].number == n and entries[0].desk == "o365"
    assert entries[-1].payload == {"reason": "resolved"}


def test_the_stored_hash_chain_verifies_from_genesis(desk: TicketDesk, tmp_path: Path) -> None:
    n = lifecycle(desk)
    store = read_store(tmp_path)
    feed(desk, store).catch_up()
    entries = trail(store, ticket_id=desk.ticket_id(n))
    prev = GENESIS
    for entry in entries:
        assert entry.prev_hash == prev
        assert entry.verifies()
        assert entry.hash == chained_hash(prev, hashed_content(
            desk.history(n)[entry.version - 1], n, "o365"))
        prev = entry.hash


def test_the_projection_hashes_what_the_envelope_module_hashes(desk: TicketDesk) -> None:
    n = open_ticket(desk, "2026-11-16T09:00:00+00:00", contact_name="Zoë")
    desk.escalate(n, "by_hand", actor=AGENT, at=at("2026-11-16T09:05:00+00:00"))
    for envelope in all_envelopes(desk):
        assert envelope_content(envelope) == hashed_content(
            envelope.entry(), envelope.ticket_number, envelope.desk)


def test_a_tampered_payload_is_set_aside_with_the_version_where_the_chain_breaks(
    desk: TicketDesk, tmp_path: Path
) -> None:
    n = lifecycle(desk)
    first, assigned, *rest = all_envelopes(desk)
    tampered = replace(assigned, payload={**assigned.payload, "level": "top"})  # hash kept
    store = read_store(tmp_path)
    projection = AuditTrailProjection()
    create_schema(store, [projection])
    with store.transaction() as tx:
        aside = apply_batch(tx, projection, [first, tampered, *rest])
    mismatch = "hash mismatch at version 2: the hash is not that of the content"
    assert [(a.envelope.version, a.reason) for a in aside] == [
        (2, mismatch), (3, "gap in versions: expected 2, got 3"),
        (4, "gap in versions: expected 2, got 4"), (5, "gap in versions: expected 2, got 5")]
    assert [e.version for e in trail(store, ticket_id=desk.ticket_id(n))] == [1]
    recorded = store.read("SELECT version, reason FROM set_aside WHERE projection = 'audit_trail' "
                          "ORDER BY version")
    assert recorded[0] == (2, mismatch)


def test_a_resealed_envelope_that_does_not_follow_the_held_entry_is_set_aside(
    desk: TicketDesk, tmp_path: Path
) -> None:
    lifecycle(desk)
    first, assigned, *_ = all_envelopes(desk)
    forged_prev = "f" * 64
    content = hashed_content(assigned.entry(), assigned.ticket_number, assigned.desk)
    forged = replace(assigned, prev_hash=forged_prev, hash=chained_hash(forged_prev, content))
    store = read_store(tmp_path)
    projection = AuditTrailProjection()
    create_schema(store, [projection])
    with store.transaction() as tx:
        aside = apply_batch(tx, projection, [first, forged])
    assert [a.reason for a in aside] == [
        "broken link at version 2: prev_hash is not the hash of version 1 as applied"]


def test_duplicates_are_skipped_and_not_set_aside(desk: TicketDesk, tmp_path: Path) -> None:
    n = lifecycle(desk)
    store = read_store(tmp_path)
    feed(desk, store).catch_up()
    projection = AuditTrailProjection()
    with store.transaction() as tx:
        aside = apply_batch(tx, projection, all_envelopes(desk))
    assert aside == []
    assert len(trail(store, ticket_id=desk.ticket_id(n))) == 5
    assert store.read("SELECT COUNT(*) FROM set_aside") == [(0,)]


def two_tickets(desk: TicketDesk) -> tuple[str, str]:
    a = open_ticket(desk, "2026-11-16T09:00:00+00:00")
    b = open_ticket(desk, "2026-11-16T09:30:00+00:00")
    desk.respond(b, actor=COLLEAGUE, at=at("2026-11-16T09:40:00+00:00"))
    desk.respond(a, actor=AGENT, at=at("2026-11-16T10:00:00+00:00"))
    desk.respond(b, actor=AGENT, at=at("2026-11-16T10:00:00+00:00"))
    desk.close_ticket(a, "resolved", actor=COLLEAGUE, at=at("2026-11-16T11:00:00+00:00"))
    return a, b


def test_entries_of_all_tickets_come_by_occurred_at_then_ticket_then_version(
    desk: TicketDesk, tmp_path: Path
) -> None:
    a, b = two_tickets(desk)
    store = read_store(tmp_path)
    feed(desk, store).catch_up()
    entries = trail(store)
    keys = [(e.occurred_at, e.ticket_id, e.version) for e in entries]
    assert keys == sorted(keys) and len(keys) == 6
    tie = [e.number for e in entries if e.occurred == at("2026-11-16T10:00:00+00:00")]
    id_of = {a: str(desk.ticket_id(a)), b: str(desk.ticket_id(b))}
    assert tie == sorted((a, b), key=id_of.__getitem__)


def test_queries_by_actor_and_by_time_range(desk: TicketDesk, tmp_path: Path) -> None:
    a, b = two_tickets(desk)
    store = read_store(tmp_path)
    feed(desk, store).catch_up()
    by_other = trail(store, actor=str(COLLEAGUE))
    assert [(e.number, e.type) for e in by_other] == [(b, "Responded"), (a, "Closed")]
    window = trail(store, since=at("2026-11-16T09:30:00+00:00"),
                   until=at("2026-11-16T10:00:00+00:00"))
    assert [(e.number, e.type) for e in window] == [(b, "Opened"), (b, "Responded")]
    one = trail(store, ticket_id=str(desk.ticket_id(a)), actor=str(AGENT))
    assert [(e.number, e.type) for e in one] == [(a, "Responded")]


def test_pages_follow_the_cursor_without_gaps_or_repeats(desk: TicketDesk, tmp_path: Path) -> None:
    a, _ = two_tickets(desk)
    store = read_store(tmp_path)
    feed(desk, store).catch_up()
    everything = trail(store)
    pages, after = [], None
    while page := trail(store, after=after, limit=4 if after is None else 1):
        pages.append(page)
        after = page[-1].cursor
    assert [len(p) for p in pages] == [4, 1, 1]
    assert [e for p in pages for e in p] == everything
    first = trail(store, ticket_id=desk.ticket_id(a), limit=2)
    rest = trail(store, ticket_id=desk.ticket_id(a), after=first[-1].cursor)
    assert [e.version for e in first + rest] == [1, 2, 3]


def test_personal_fields_are_stored_and_masked_on_request(desk: TicketDesk, tmp_path: Path) -> None:
    n = open_ticket(desk, "2026-11-16T09:00:00+00:00", contact_name="Ann Peeters",
                    contact_email="ann@example.be", contact_phone="+32 2 555 01 02",
                    site_id="1234")
    desk.respond(n, actor=AGENT, at=at("2026-11-16T09:30:00+00:00"))
    store = read_store(tmp_path)
    feed(desk, store).catch_up()
    opened, responded = trail(store, ticket_id=desk.ticket_id(n))
    assert opened.payload["fields"]["contact_email"] == "ann@example.be"
    masked = opened.masked()
    assert masked.payload["fields"] == {"contact_name": "***", "contact_email": "***",
                                        "contact_phone": "***", "site_id": "1234"}
    assert masked.payload["title"] == "Mail is down"
    assert opened.verifies() and not masked.verifies()
    assert responded.masked() == responded


def table_rows(store: ReadStore) -> list[tuple[object, ...]]:
    return store.read("SELECT * FROM audit_trail ORDER BY ticket_id, version")


def test_a_rebuild_from_position_zero_equals_the_trail_built_live_in_small_batches(
    desk: TicketDesk, tmp_path: Path
) -> None:
    live_store = read_store(tmp_path, "live")
    live = feed(desk, live_store, batch_size=3)
    a = open_ticket(desk, "2026-11-16T09:00:00+00:00", contact_name="Ann")
    live.step()
    b = open_ticket(desk, "2026-11-16T09:10:00+00:00")
    desk.respond(a, actor=AGENT, at=at("2026-11-16T09:20:00+00:00"))
    desk.respond(b, actor=AGENT, at=at("2026-11-16T09:25:00+00:00"))
    desk.request_info(b, actor=AGENT, at=at("2026-11-16T09:30:00+00:00"))
    live.step()
    desk.customer_reply(b, actor=CUSTOMER, at=at("2026-11-16T10:00:00+00:00"))
    desk.close_ticket(a, "resolved", actor=AGENT, at=at("2026-11-16T10:30:00+00:00"))
    live.catch_up()
    desk.escalate(b, "by_hand", actor=AGENT, at=at("2026-11-16T11:00:00+00:00"))
    live.catch_up()
    rebuilt_store = read_store(tmp_path, "rebuilt")
    feed(desk, rebuilt_store).catch_up()
    assert len(table_rows(live_store)) == 8
    assert table_rows(rebuilt_store) == table_rows(live_store)


def test_a_corrected_redelivery_of_a_set_aside_event_is_applied(
    desk: TicketDesk, tmp_path: Path
) -> None:
    number = desk.open(desk="o365", requester="c-1", requester_role="admin", title="T",
                       actor=SERVICE, at=at("2026-11-16T10:00:00+00:00")).number
    desk.respond(number, actor=AGENT, at=at("2026-11-16T10:10:00+00:00"))
    first, second = StoreReader(desk).read(0, 10)
    store = ReadStore("sqlite:///" + str(tmp_path / "redelivery.sqlite3"))
    projection = AuditTrailProjection()
    create_schema(store, [projection])
    with store.transaction() as tx:
        apply_batch(tx, projection, [first])
        tampered = replace(second, payload={"forged": True})
        assert [a.envelope for a in apply_batch(tx, projection, [tampered])] == [tampered]
        assert apply_batch(tx, projection, [second]) == []
    assert [e.version for e in trail(store, ticket_id=first.ticket_id)] == [1, 2]
