"""``tickets privacy migrate``: copy an event store into a new one with its personal fields sealed.

Every stored event is copied in log order with its aggregate id, version and times; an Opened event
whose personal values are plaintext (a store written before sealing) is written again with them
sealed under its requester's key, every other event byte for byte. The old store is only read.
The keys go to ``keys.sqlite3`` beside a new SQLite store, or to the key schema beside a
PostgreSQL one (``tickets.privacy.key_db``). The new store's hash chains cover the sealed values,
so they differ from the old store's for every sealed Opened event and what follows it on that
ticket: export the old store's trail (``tickets replay export``) before retiring it, and rebuild
the read models from the new store (``tickets replay rebuild``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eventsourcing.persistence import StoredEvent

from tickets.application.desk import TicketDesk
from tickets.config import Settings, persistence_env
from tickets.domain.errors import ValidationError
from tickets.domain.personal import is_sealed, seal_opening
from tickets.domain.ticket import OPENED_TOPICS
from tickets.privacy.key_db import PostgresKeyDb
from tickets.privacy.keys import FILE_NAME, KeyTable
from tickets.wiring import build_catalogue

BATCH = 1000


@dataclass
class MigrationReport:
    source: str
    target: str
    keys: str
    events: int = 0
    sealed: int = 0  # Opened events whose personal values were sealed
    already_sealed: int = 0
    subjects: set[str] = field(default_factory=set)

    def as_json(self) -> dict[str, Any]:
        return {"from": self.source, "to": self.target, "key_table": self.keys,
                "events_copied": self.events, "opened_events_sealed": self.sealed,
                "opened_events_already_sealed": self.already_sealed,
                "requesters_with_keys": len(self.subjects),
                "next": ["tickets replay rebuild (read models from the new store)",
                         "keep an export of the old store's audit trail; its hashes differ"]}

    def text(self) -> str:
        return (f"copied {self.events} events from {self.source} to {self.target}; sealed the "
                f"personal fields of {self.sealed} opened tickets ({self.already_sealed} were "
                f"sealed already) under the keys of {len(self.subjects)} requesters in "
                f"{self.keys}. The old store is untouched. Next: rebuild the read models from the "
                "new store (tickets replay rebuild), and keep an export of the old store's audit "
                "trail: the new store's hash chains cover the sealed values.")


def _url_path(url: str) -> Path | None:
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def _check(source: str, target: str) -> None:
    if source == target:
        raise ValidationError("--from and --to name the same store", field="to", rule="another_store")
    for name, url in (("from", source), ("to", target)):
        persistence_env(url)  # a malformed URL is refused naming the rule
        if url == "memory:":
            raise ValidationError(f"--{name} must be a stored database, not memory:", field=name,
                                  rule="database_url_scheme")
    found = _url_path(source)
    if found is not None and not found.is_file():
        raise ValidationError(f"there is no event store at {found}", field="from", rule="existing_store")


def migrate(settings: Settings, source: str, target: str) -> MigrationReport:
    _check(source, target)
    catalogue = build_catalogue(settings)
    old = TicketDesk(catalogue, env=persistence_env(source))
    new_path = _url_path(target)
    if new_path is not None:
        new_path.parent.mkdir(parents=True, exist_ok=True)
        keys = KeyTable(new_path.parent / FILE_NAME, settings.privacy_master_key)
    else:
        keys = KeyTable(PostgresKeyDb(target), settings.privacy_master_key)
    new = TicketDesk(catalogue, env=persistence_env(target), keys=keys)
    if new.recorder.select_notifications(start=None, limit=1):
        raise ValidationError(f"the new store {target} already holds events; name an empty one",
                              field="to", rule="empty_store")
    report = MigrationReport(source, target, keys.path)
    start = 1
    while batch := old.recorder.select_notifications(start=start, limit=BATCH):
        copies = [_copy(old, new, stored, report) for stored in batch]
        new.recorder.insert_events(copies)
        report.events += len(copies)
        start = batch[-1].id + 1
    old.close()
    new.close()
    keys.close()
    return report


def _copy(old: TicketDesk, new: TicketDesk, stored: StoredEvent, report: MigrationReport) -> StoredEvent:
    if stored.topic not in OPENED_TOPICS:
        return StoredEvent(stored.originator_id, stored.originator_version, stored.topic,
                           stored.state)
    event: Any = old.mapper.to_domain_event(stored)
    state = event.__dict__
    if is_sealed(state["title"]) or any(is_sealed(v) for v in state["fields"].values()):
        report.already_sealed += 1
        return StoredEvent(stored.originator_id, stored.originator_version, stored.topic,
                           stored.state)
    desk = new.catalogue.desk(state["desk"], state["policy_version"])
    title, fields = seal_opening(new.personal, desk, state["requester"], state["title"],
                                 state["fields"])
    if title == state["title"] and fields == state["fields"]:
        return StoredEvent(stored.originator_id, stored.originator_version, stored.topic,
                           stored.state)
    sealed = object.__new__(type(event))
    sealed.__dict__.update({**state, "title": title, "fields": fields})
    report.sealed += 1
    report.subjects.add(state["requester"])
    return new.mapper.to_stored_event(sealed)
