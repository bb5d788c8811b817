"""The audit trail: every event of every ticket, in order, with its place in the ticket's hash chain.

Each envelope already carries ``prev_hash`` and ``hash``; this projection does not trust them. It
recomputes the hash from the envelope's own fields and checks that ``prev_hash`` is the hash of the
ticket's previous entry it holds (64 zeros before the first). An envelope that fails either check is
set aside as "hash chain broken at version N", and so is every later event of that ticket, whose
chain no longer meets a held entry: the trail holds only what verifies.

Personal data in the Opened event's ``fields`` is stored as it is (auditors with the right may see
it); ``AuditEntry.masked()`` (in ``projections.audit_entry``) gives the entry without it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from tickets.projections.admission import Head, payload_json, recomputed_hash
from tickets.projections.audit_entry import COLUMNS, AuditEntry
from tickets.projections.audit_hash import envelope_content, envelope_hash
from tickets.projections.base import Projection, Refused
from tickets.projections.readstore import ReadStore
from tickets.projections.schema import Row, Table
from tickets.wire.envelope import GENESIS, Envelope, format_time, parse_time

__all__ = ["AuditEntry", "AuditTrailProjection", "envelope_content", "envelope_hash", "trail"]

_TEXT = "TEXT NOT NULL"
TRAIL = Table(
    "audit_trail",
    tuple((name, "BIGINT NOT NULL" if name in ("version", "position") else _TEXT) for name in COLUMNS),
    ("ticket_id", "version"),
    ("CREATE INDEX IF NOT EXISTS audit_trail_by_actor "
     "ON audit_trail (actor, occurred_at, ticket_id, version)",
     "CREATE INDEX IF NOT EXISTS audit_trail_by_time "
     "ON audit_trail (occurred_at, ticket_id, version)"),
    log=True,
)
#: (ticket_id, version, hash) of the last entry held for each ticket that has one.
_HEADS = (
    "SELECT a.ticket_id, a.version, a.hash FROM audit_trail a JOIN ("
    " SELECT ticket_id, MAX(version) AS version FROM audit_trail WHERE ticket_id {in}"
    " GROUP BY ticket_id) m ON a.ticket_id = m.ticket_id AND a.version = m.version"
)


def entry_row(envelope: Envelope) -> Row:
    """The envelope's row, in ``COLUMNS`` order; the payload as its canonical JSON text.

    An envelope sealed from the store by a rebuild carries the row it was made from
    (``_audit_row``, which tests hold equal to this one); any other has it built here."""
    made: Row | None = envelope.__dict__.get("_audit_row")
    if made is not None:
        return made
    return (
        envelope.ticket_id, envelope.version, envelope.ticket_number, envelope.desk, envelope.type,
        envelope.occurred_at, envelope.recorded_at, envelope.actor, envelope.channel,
        payload_json(envelope), envelope.prev_hash, envelope.hash, envelope.position,
    )


class AuditTrailProjection(Projection[Head]):
    """State per ticket: the version and hash of its last entry, read back from the trail itself."""

    name = "audit_trail"
    tables_declared = (TRAIL,)

    def evolve(self, state: Head | None, envelope: Envelope) -> Head:
        """The next entry of the ticket's chain, or refused: the trail holds only what verifies."""
        version, head = state if state is not None else (0, GENESIS)
        if (envelope.version != version + 1 or envelope.prev_hash != head
                or recomputed_hash(envelope) != envelope.hash):
            raise Refused(f"hash chain broken at version {envelope.version}")
        return (envelope.version, envelope.hash)

    def entries(self, state: Head, envelope: Envelope) -> Mapping[str, Sequence[Row]]:
        return {"audit_trail": (entry_row(envelope),)}

    def state_query(self) -> str:
        return _HEADS

    def load_state(self, row: Row) -> Head:
        return (int(row[1]), row[2])


def _parse_cursor(after: str) -> tuple[str, str, int]:
    try:
        occurred_at, ticket_id, version = after.split("|")
        parse_time(occurred_at)
        return occurred_at, ticket_id, int(version)
    except ValueError:
        raise ValueError(f"{after!r} is not a trail cursor (AuditEntry.cursor)") from None


def trail(
    store: ReadStore, *, ticket_id: str | UUID | None = None, actor: str | None = None,
    since: datetime | None = None, until: datetime | None = None, after: str | None = None,
    limit: int = 1000,
) -> list[AuditEntry]:
    """Entries that match every filter given, at most ``limit``, in a stable order.

    One ticket's entries come by version; otherwise by (occurred_at, ticket_id, version).
    ``since`` is inclusive and ``until`` exclusive, both on ``occurred_at``; ``actor`` is the
    ``role:id`` text; ``after`` is the ``cursor`` of the last entry of the previous page.
    """
    where: list[str] = []
    params: list[Any] = []
    if ticket_id is not None:
        where.append("ticket_id = ?")
        params.append(str(ticket_id))
    if actor is not None:
        where.append("actor = ?")
        params.append(actor)
    if since is not None:
        where.append("occurred_at >= ?")
        params.append(format_time(since))
    if until is not None:
        where.append("occurred_at < ?")
        params.append(format_time(until))
    if after is not None:
        occurred_at, after_ticket, after_version = _parse_cursor(after)
        if ticket_id is not None:
            where.append("version > ?")
            params.append(after_version)
        else:
            # Spelled out rather than a row-value comparison so that the leading range uses the index.
            where.append("occurred_at >= ? AND (occurred_at > ? OR ticket_id > ? "
                         "OR (ticket_id = ? AND version > ?))")
            params += [occurred_at, occurred_at, after_ticket, after_ticket, after_version]
    order = "version" if ticket_id is not None else "occurred_at, ticket_id, version"
    sql = (f"SELECT {', '.join(COLUMNS)} FROM audit_trail"
           f"{' WHERE ' + ' AND '.join(where) if where else ''} ORDER BY {order} LIMIT ?")
    return [AuditEntry.from_row(row) for row in store.read(sql, (*params, limit))]
