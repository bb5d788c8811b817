"""``tickets privacy migrate``: an old store copied into a new one with its personal fields sealed."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from pathlib import Path

import pytest

from tickets import cli
from tickets.application.clock import VirtualClock
from tickets.application.desk import TicketDesk
from tickets.config import load_settings
from tickets.domain.actor import Actor
from tickets.domain.catalogue import Catalogue
from tickets.domain.errors import ValidationError
from tickets.domain.personal import is_sealed
from tickets.domain.ticket import OPENED_TOPICS
from tickets.privacy.keys import KeyTable
from tickets.privacy.migrate import migrate

CONTACT = {"contact_name": "Gerrit Oudemolen", "contact_email": "gerrit@oudemolen-voorbeeld.nl",
           "contact_phone": "+31 30 555 0123"}
RECORDED = Path(__file__).parent.parent / "fixtures" / "before_one_house" / "events.sqlite3"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sqlite_env(path: Path) -> dict[str, str]:
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}


@pytest.fixture
def old_store(catalogue: Catalogue, clock: VirtualClock, tmp_path: Path) -> Path:
    """A store written without sealing, as every store before this change was."""
    path = tmp_path / "old" / "events.sqlite3"
    path.parent.mkdir()
    desk = TicketDesk(catalogue, clock=clock, env=sqlite_env(path), rng=random.Random(9))
    number = desk.open(desk="o365", requester="c-gerrit", requester_role="admin", title="T",
                       fields={**CONTACT, "product": "mail"}, severity="A",
                       actor=Actor("service", "webform"), command_id="cmd-1").number
    desk.respond(number, actor=Actor("agent", "a-1"))
    desk.close()
    return path


def test_migration_seals_the_personal_fields_and_keeps_ids_versions_and_times(
        old_store: Path, catalogue: Catalogue, tmp_path: Path) -> None:
    before = digest(old_store)
    new = tmp_path / "new" / "events.sqlite3"
    report = migrate(load_settings({}, home=str(tmp_path / "home")), f"sqlite:///{old_store}",
                     f"sqlite:///{new}")
    assert (report.events, report.sealed, len(report.subjects)) == (3, 1, 1)  # a receipt too
    assert digest(old_store) == before
    for value in CONTACT.values():
        assert value.encode() in old_store.read_bytes()
        assert value.encode() not in new.read_bytes()

    old_desk = TicketDesk(catalogue, env=sqlite_env(old_store))
    keys = KeyTable(new.parent / "keys.sqlite3")
    new_desk = TicketDesk(catalogue, env=sqlite_env(new), keys=keys)
    old_log = old_desk.recorder.select_notifications(start=1, limit=100)
    new_log = new_desk.recorder.select_notifications(start=1, limit=100)
    assert [(n.originator_id, n.originator_version) for n in old_log] == \
        [(n.originator_id, n.originator_version) for n in new_log]
    for old, copied in zip(old_log, new_log, strict=True):
        if old.topic not in OPENED_TOPICS:
            assert copied.state == old.state
    ticket_id = next(n.originator_id for n in old_log if n.topic in OPENED_TOPICS)
    was, now = old_desk.history(ticket_id), new_desk.history(ticket_id)
    assert [(e.occurred_at, e.recorded_at, e.version) for e in was] == \
        [(e.occurred_at, e.recorded_at, e.version) for e in now]
    fields = new_desk.get(ticket_id).fields
    assert all(is_sealed(fields[k]) for k in CONTACT) and fields["product"] == "mail"
    assert {k: keys.open(k, fields[k]) for k in CONTACT} == CONTACT


def test_the_recorded_store_of_an_earlier_release_migrates(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    old = tmp_path / "recorded.sqlite3"
    shutil.copy(RECORDED, old)
    before = digest(old)
    code = cli.main(["privacy", "migrate", "--from", f"sqlite:///{old}", "--to",
                     f"sqlite:///{tmp_path / 'new.sqlite3'}", "--home", str(tmp_path / "home"),
                     "--json"])
    answer = json.loads(capsys.readouterr().out)
    assert code == 0 and answer["events_copied"] > 10 and answer["opened_events_sealed"] == 1
    assert digest(old) == before


def test_migrating_into_a_store_that_holds_events_or_from_nowhere_is_refused(
        old_store: Path, tmp_path: Path) -> None:
    settings = load_settings({}, home=str(tmp_path / "home"))
    with pytest.raises(ValidationError) as full:
        migrate(settings, f"sqlite:///{old_store}", f"sqlite:///{old_store}")
    assert full.value.rule == "another_store"
    other = tmp_path / "other.sqlite3"
    shutil.copy(old_store, other)
    with pytest.raises(ValidationError) as taken:
        migrate(settings, f"sqlite:///{old_store}", f"sqlite:///{other}")
    assert (taken.value.field, taken.value.rule) == ("to", "empty_store")
    with pytest.raises(ValidationError) as missing:
        migrate(settings, f"sqlite:///{tmp_path / 'none.sqlite3'}", f"sqlite:///{tmp_path / 'n2'}")
    assert (missing.value.field, missing.value.rule) == ("from", "existing_store")
