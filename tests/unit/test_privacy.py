"""Personal data sealed under the requester's key, read at read time, and erased with the key."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tickets.application.clock import VirtualClock
from tickets.application.desk import TicketDesk
from tickets.domain.actor import Actor
from tickets.domain.catalogue import Catalogue
from tickets.domain.errors import LifecycleError, TicketNotFoundError, ValidationError
from tickets.domain.personal import (
    ERASED,
    UNREADABLE,
    is_sealed,
    open_payload,
    personal_fields,
    seal_opening,
)
from tickets.privacy.erase import erase
from tickets.privacy.keys import FOLLOWED_S, FRESH_S, KeyTable
from tickets.replay.personal import MASK, mask_payload

WEBFORM = Actor("service", "webform")
AGENT = Actor("agent", "a-1")
ANNA = {"contact_name": "Anna Zwartkop-Verhoeven", "contact_email": "anna.zwartkop@voorbeeld.nl",
        "contact_phone": "+31 20 555 0199"}
BOB = {"contact_name": "Bob Lindqvist-Oyelaran", "contact_email": "bob.lindqvist@exempel.se",
       "contact_phone": "+46 8 555 0147"}


@pytest.fixture
def keys(tmp_path: Path) -> Iterator[KeyTable]:
    table = KeyTable(tmp_path / "keys.sqlite3")
    yield table
    table.close()


@pytest.fixture
def sealing_desk(catalogue: Catalogue, clock: VirtualClock, keys: KeyTable,
                 tmp_path: Path) -> TicketDesk:
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite",
           "SQLITE_DBNAME": str(tmp_path / "events.sqlite3")}
    return TicketDesk(catalogue, clock=clock, env=env, rng=random.Random(3), keys=keys)


def open_for(desk: TicketDesk, requester: str, contact: dict[str, str]) -> str:
    return desk.open(desk="o365", requester=requester, requester_role="admin",
                     title="Mailbox full", fields={**contact, "product": "mail"}, severity="A",
                     actor=WEBFORM).number


def stored_bytes(desk: TicketDesk) -> bytes:
    return b"".join(n.state for n in desk.recorder.select_notifications(start=1, limit=1000))


def test_personal_fields_are_stored_sealed_and_open_at_read_time(sealing_desk: TicketDesk) -> None:
    number = open_for(sealing_desk, "c-anna", ANNA)
    ticket = sealing_desk.get(number)
    assert all(is_sealed(ticket.fields[name]) for name in ANNA)
    assert ticket.fields["product"] == "mail" and ticket.title == "Mailbox full"
    raw = stored_bytes(sealing_desk)
    for value in ANNA.values():
        assert value.encode() not in raw
    opened = {k: sealing_desk.personal.open(k, v) for k, v in ticket.fields.items()}
    assert opened == {**ANNA, "product": "mail"}


def test_a_sealed_value_opens_only_under_its_own_field_name(sealing_desk: TicketDesk) -> None:
    ticket = sealing_desk.get(open_for(sealing_desk, "c-anna", ANNA))
    assert sealing_desk.personal.open("contact_name", ticket.fields["contact_email"]) == UNREADABLE
    tampered = ticket.fields["contact_name"][:-4] + ("AAAA" if not ticket.fields[
        "contact_name"].endswith("AAAA") else "BBBB")
    assert sealing_desk.personal.open("contact_name", tampered) == UNREADABLE


def test_a_desk_marks_free_text_personal_in_its_policy(catalogue: Catalogue) -> None:
    web = catalogue.desk("web")
    assert {"contact_name", "contact_email", "contact_phone", "error_message"} <= personal_fields(web)
    assert "url" not in personal_fields(web)


def test_erasure_makes_the_values_read_erased_and_keeps_other_requesters(
        sealing_desk: TicketDesk, keys: KeyTable) -> None:
    anna = sealing_desk.get(open_for(sealing_desk, "c-anna", ANNA))
    bob = sealing_desk.get(open_for(sealing_desk, "c-bob", BOB))
    done = erase(sealing_desk, keys, "c-anna", asked_by="auditor:dpo", basis="GDPR art. 17")
    assert done.key_id and not done.completed
    assert {keys.open(k, anna.fields[k]) for k in ANNA} == {ERASED}
    assert {k: keys.open(k, bob.fields[k]) for k in BOB} == BOB
    record = sealing_desk.erasure("c-anna")
    assert record is not None and record.erasures[0][2:] == ("auditor:dpo", "GDPR art. 17")


def test_erasing_twice_and_erasing_an_unknown_requester_are_refused_by_name(
        sealing_desk: TicketDesk, keys: KeyTable) -> None:
    open_for(sealing_desk, "c-anna", ANNA)
    erase(sealing_desk, keys, "c-anna", asked_by="auditor:dpo", basis="request")
    with pytest.raises(LifecycleError) as twice:
        erase(sealing_desk, keys, "c-anna", asked_by="auditor:dpo", basis="request")
    assert (twice.value.field, twice.value.rule) == ("requester", "already_erased")
    with pytest.raises(TicketNotFoundError) as unknown:
        erase(sealing_desk, keys, "c-nobody", asked_by="auditor:dpo", basis="request")
    assert (unknown.value.field, unknown.value.rule) == ("requester", "known_requester")


@pytest.mark.parametrize(("requester", "asked_by", "basis", "field", "rule"), [
    ("c-1", "auditor:dpo", "  ", "basis", "required"),
    ("c-1", "auditor:dpo", "x" * 501, "basis", "max_length"),
    ("c-1", "dpo", "request", "asked_by", "actor_format"),
    ("not an id", "auditor:dpo", "request", "actor", "actor_id_format"),
])
def test_a_malformed_erasure_request_is_refused_naming_the_field(
        sealing_desk: TicketDesk, keys: KeyTable, requester: str, asked_by: str, basis: str,
        field: str, rule: str) -> None:
    with pytest.raises(ValidationError) as refused:
        erase(sealing_desk, keys, requester, asked_by=asked_by, basis=basis)
    assert (refused.value.field, refused.value.rule) == (field, rule)


def test_an_erased_requesters_ticket_runs_on_for_agents_but_refuses_their_own_commands(
        sealing_desk: TicketDesk, keys: KeyTable, clock: VirtualClock) -> None:
    number = open_for(sealing_desk, "c-anna", ANNA)
    sla_before = sealing_desk.sla(number, now=clock.now() + timedelta(hours=3))
    erase(sealing_desk, keys, "c-anna", asked_by="auditor:dpo", basis="request")
    assert sealing_desk.sla(number, now=clock.now() + timedelta(hours=3)) == sla_before
    clock.advance(timedelta(minutes=5))
    sealing_desk.respond(number, actor=AGENT)
    sealing_desk.request_info(number, actor=AGENT)
    with pytest.raises(LifecycleError) as refused:
        sealing_desk.customer_reply(number, actor=Actor("customer", "c-anna"))
    assert (refused.value.field, refused.value.rule) == ("requester", "requester_erased")


def test_a_destroyed_key_leaves_no_copy_in_the_key_tables_files(
        sealing_desk: TicketDesk, keys: KeyTable, tmp_path: Path) -> None:
    open_for(sealing_desk, "c-anna", ANNA)
    open_for(sealing_desk, "c-bob", BOB)
    material = keys.material_of("c-anna")
    assert material is not None and len(material) == 32
    erase(sealing_desk, keys, "c-anna", asked_by="auditor:dpo", basis="request")
    files = [p for p in tmp_path.iterdir() if p.name.startswith("keys.sqlite3")]
    assert files and not any(material in p.read_bytes() for p in files)
    assert keys.material_of("c-bob") is not None


def test_a_master_key_wraps_the_keys_and_must_be_the_same_one(tmp_path: Path) -> None:
    master = bytes(range(32))
    table = KeyTable(tmp_path / "k.sqlite3", master)
    sealed = table.seal("c-1", {"contact_name": "Zed"})["contact_name"]
    wrapped = table.material_of("c-1")
    table.close()
    assert wrapped is not None and len(wrapped) > 32
    assert KeyTable(tmp_path / "k.sqlite3", master).open("contact_name", sealed) == "Zed"
    with pytest.raises(ValidationError) as unset:
        KeyTable(tmp_path / "k.sqlite3", None)
    assert unset.value.rule == "matches_key_table"
    wrong = KeyTable(tmp_path / "k.sqlite3", bytes(32))
    with pytest.raises(ValidationError) as refused:
        wrong.open("contact_name", sealed)
    assert (refused.value.field, refused.value.rule) == ("TICKETS_PRIVACY_MASTER_KEY",
                                                         "opens_key_table")


def test_an_erasure_in_another_process_reaches_a_running_desk(
        sealing_desk: TicketDesk, keys: KeyTable, tmp_path: Path) -> None:
    ticket = sealing_desk.get(open_for(sealing_desk, "c-anna", ANNA))
    assert keys.open("contact_email", ticket.fields["contact_email"]) == ANNA["contact_email"]
    other = KeyTable(tmp_path / "keys.sqlite3")  # another connection: another process's view
    other.begin_erasure("c-anna", "auditor:dpo", "request", datetime.now(UTC))
    other.close()
    time.sleep(FRESH_S * 2)  # how long another process's erasure may take to reach this one
    assert keys.open("contact_email", ticket.fields["contact_email"]) == ERASED


def test_a_followed_key_table_sees_another_process_erasure_without_the_reader_looking(
        sealing_desk: TicketDesk, keys: KeyTable, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    ticket = sealing_desk.get(open_for(sealing_desk, "c-anna", ANNA))
    lookers: list[str] = []
    count = KeyTable._data_version

    def counted(self: KeyTable) -> int:
        if self is keys:
            lookers.append(threading.current_thread().name)
        return count(self)

    monkeypatch.setattr(KeyTable, "_data_version", counted)
    following = keys.follow()
    try:
        before = keys.generation()
        other = KeyTable(tmp_path / "keys.sqlite3")  # another connection: another process's view
        other.begin_erasure("c-anna", "auditor:dpo", "request", datetime.now(UTC))
        other.close()
        seen_by = time.monotonic() + FOLLOWED_S * 0.8  # the thread looks every FRESH_S
        while keys.generation() == before and time.monotonic() < seen_by:
            time.sleep(FRESH_S / 5)
        assert keys.generation() > before
        assert keys.open("contact_email", ticket.fields["contact_email"]) == ERASED
        assert lookers and set(lookers) == {"key_table"}  # the reader never looked itself
    finally:
        following.stop()
    time.sleep(FOLLOWED_S)  # the thread is gone: a reader looks itself once its last look is old
    lookers.clear()
    keys.generation()
    assert lookers == ["MainThread"]


def test_a_title_the_desk_marks_personal_is_sealed_masked_and_opened_like_the_fields(
        catalogue: Catalogue, keys: KeyTable) -> None:
    web = catalogue.desk("web")
    rules = {**web.required_fields, "title": replace(web.required_fields["title"], personal=True)}
    marked = replace(web, required_fields=rules)
    title, fields = seal_opening(keys, marked, "c-anna", "Anna's site is down",
                                 {"site_id": "4711", "contact_name": "Anna"})
    assert is_sealed(title) and is_sealed(fields["contact_name"]) and fields["site_id"] == "4711"
    payload = {"title": title, "fields": fields}
    masked, hidden = mask_payload(payload)
    assert hidden and masked["title"] == MASK and masked["fields"]["contact_name"] == MASK
    assert open_payload(keys, payload) == {"title": "Anna's site is down",
                                           "fields": {"site_id": "4711", "contact_name": "Anna"}}
    assert seal_opening(keys, web, "c-anna", "Down", {})[0] == "Down"  # unmarked: as written


@pytest.mark.parametrize(("title", "fields", "field"), [
    ("sealed:v1:abc:def:ghi", {}, "title"),
    ("T", {"product": "sealed:v1:0123:AAAA:BBBB"}, "product"),
    ("T", {"contact_name": "  sealed:v1:x:y:z"}, "contact_name"),
])
def test_a_value_that_looks_sealed_is_refused_so_no_copy_is_opened_elsewhere(
        sealing_desk: TicketDesk, title: str, fields: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        sealing_desk.open(desk="o365", requester="c-mallory", requester_role="admin", title=title,
                          fields=fields, severity="A", actor=WEBFORM)
    assert (refused.value.field, refused.value.rule) == (field, "not_sealed_text")
