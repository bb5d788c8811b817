"""The integrity check: recompute every ticket's hash chain from the event store and compare it with
the chain recorded in the audit trail projection, and with what every projection applied.

Reports every altered, removed or reordered event with its ticket and version, the version where
each ticket's chain breaks, and the events the trail has not reached yet ("not yet projected",
which is not an error). ``IntegrityReport.ok`` is false when anything is broken.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from tickets.application.desk import TicketDesk
from tickets.domain.errors import TicketError, TicketNotFoundError
from tickets.domain.history import entry_of
from tickets.domain.ticket import TICKET_TOPICS
from tickets.projections.audit_entry import COLUMNS, AuditEntry
from tickets.projections.readstore import ReadStore
from tickets.replay.chain_check import Finding, StoredContent, TicketCheck, check_chain
from tickets.replay.tables import column_names, select_in, table_exists
from tickets.wire.envelope import hashed_content

_CHUNK = 500


class IntegrityError(TicketError):
    """The hash chain is broken somewhere: the report says where."""

    code = "integrity"


@dataclass
class IntegrityReport:
    tickets: list[TicketCheck] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return [f for t in self.tickets for f in t.findings]

    @property
    def broken(self) -> list[TicketCheck]:
        return [t for t in self.tickets if t.broken_at is not None or t.findings]

    @property
    def pending(self) -> int:
        return sum(len(t.pending) for t in self.tickets)

    @property
    def ok(self) -> bool:
        return not self.broken

    def error(self) -> IntegrityError:
        return IntegrityError(
            f"the hash chain is broken in {len(self.broken)} ticket(s), {len(self.findings)} "
            "finding(s)", field="hash", rule="hash_chain_intact",
        )


def stored_contents(app: TicketDesk, ticket_id: UUID, number: str, desk: str) -> list[StoredContent]:
    """The ticket's stored events as the hash covers them, each read on its own so one bad record
    does not hide the rest."""
    contents = []
    for stored in app.recorder.select_events(ticket_id):
        try:
            entry = entry_of(app.mapper.to_domain_event(stored))
            if entry.version == 1 and not number:
                number, desk = entry.payload["number"], entry.payload["desk"]
            contents.append(StoredContent(entry.version, hashed_content(entry, number, desk)))
        except Exception as error:  # a damaged record fails in the mapper in many ways
            contents.append(StoredContent(stored.originator_version, None,
                                          f"{type(error).__name__}"))
    return contents


def trail_entries(store: ReadStore, ticket_ids: Sequence[str]) -> dict[str, list[AuditEntry]]:
    found: dict[str, list[AuditEntry]] = {t: [] for t in ticket_ids}
    if not table_exists(store, "audit_trail"):
        return found
    sql = f"SELECT {', '.join(COLUMNS)} FROM audit_trail WHERE ticket_id IN ({{marks}})"
    for row in select_in(store, sql, list(ticket_ids)):
        found[row[0]].append(AuditEntry.from_row(row))
    for entries in found.values():
        entries.sort(key=lambda e: e.version)
    return found


def refused_versions(store: ReadStore, ticket_ids: Sequence[str]) -> dict[str, dict[int, str]]:
    """Versions the audit trail projection set aside (a chain that did not verify when projected)."""
    found: dict[str, dict[int, str]] = {t: {} for t in ticket_ids}
    if table_exists(store, "set_aside"):
        sql = ("SELECT ticket_id, version, reason FROM set_aside WHERE projection = 'audit_trail' "
               "AND ticket_id IN ({marks})")
        for ticket_id, version, reason in select_in(store, sql, list(ticket_ids)):
            found[ticket_id][int(version)] = reason
    return found


Applied = list[tuple[str, int, str | None]]


def applied_heads(store: ReadStore, ticket_ids: Sequence[str]) -> dict[str, Applied]:
    """Each projection's last applied (projection, version, hash) of these tickets."""
    found: dict[str, Applied] = {t: [] for t in ticket_ids}
    if table_exists(store, "projection_versions"):
        hashed = "hash" if "hash" in column_names(store, "projection_versions") else "NULL"
        sql = (f"SELECT ticket_id, projection, version, {hashed} FROM projection_versions "
               "WHERE ticket_id IN ({marks}) ORDER BY projection")
        for ticket_id, projection, version, hash_ in select_in(store, sql, list(ticket_ids)):
            found[ticket_id].append((projection, int(version), hash_))
    return found


def all_ticket_ids(app: TicketDesk, store: ReadStore) -> list[str]:
    """Every ticket with an event in the store (in log order), then any only the read models know."""
    seen: dict[str, None] = {}
    start = 1
    while batch := app.recorder.select_notifications(start=start, limit=10_000, topics=TICKET_TOPICS):
        seen.update((str(n.originator_id), None) for n in batch)
        start = batch[-1].id + 1
    for table in ("audit_trail", "projection_versions"):
        if table_exists(store, table):
            known = sorted(row[0] for row in store.read(f"SELECT DISTINCT ticket_id FROM {table}"))
            seen.update((t, None) for t in known if t not in seen)
    return list(seen)


def check(app: TicketDesk, store: ReadStore, ticket_ids: Iterable[str]) -> Iterator[TicketCheck]:
    ids = list(ticket_ids)
    for start in range(0, len(ids), _CHUNK):
        part = ids[start:start + _CHUNK]
        trails, refused = trail_entries(store, part), refused_versions(store, part)
        applied = applied_heads(store, part)
        for ticket_id in part:
            trail = trails[ticket_id]
            number, desk = (trail[0].number, trail[0].desk) if trail else ("", "")
            stored = stored_contents(app, UUID(ticket_id), number, desk)
            number = number or _number_of(stored)
            yield check_chain(ticket_id, number, stored, trail, refused[ticket_id], applied[ticket_id])


def _number_of(stored: list[StoredContent]) -> str:
    first: Any = next((s.content for s in stored if s.content is not None), None)
    return str(first["ticket_number"]) if first else ""


def verify(app: TicketDesk, store: ReadStore, ticket: str | None = None) -> IntegrityReport:
    """Check one ticket (by number or id) or, without one, every ticket."""
    if ticket is None:
        return IntegrityReport(list(check(app, store, all_ticket_ids(app, store))))
    report = IntegrityReport(list(check(app, store, [str(app.ticket_id(ticket))])))
    if not report.tickets[0].store_events and not report.tickets[0].trail_entries:
        raise TicketNotFoundError(f"no ticket {ticket}", field="ticket", rule="known_ticket",
                                  ticket=ticket)
    return report
