"""What every projection shares: its tables, its position, the version gate, and set-aside events.

A projection is a pure function of (its state, an envelope) plus a store. The runner hands it a
batch of envelopes inside one transaction; the projection loads the state it needs for the
batch, applies the pure function to each envelope in order, writes its rows, and the runner
records the projection's position in the same transaction. So a crash anywhere leaves either
all of a batch or none of it, and a restart applies every event exactly once.

What a projection is given has passed the group's admission (``projections.admission``): the
version gate, and each envelope's hash and link to the version applied before, decided once for
every projection of the group.

Several projections fed the same batch (``apply_batches``) read everything first — the version
gate's applied versions of every projection in one query, then each projection's state
(``read_state``) — and only then write. Projections share no table (applied versions and
set-aside events are keyed by projection), so reading all before writing any gives what applying
them one after the other gives; in a pipelined PostgreSQL transaction the reads are one round trip
and the writes another.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tickets.projections.admission import Head, admit
from tickets.projections.envelope import Envelope
from tickets.projections.readstore import Pending, ReadStore, Tx


@dataclass(frozen=True)
class Unreadable:
    """A stored ticket event a reader could not seal: where it is, and why (kept in ``set_aside``)."""

    position: int
    ticket_id: str
    version: int
    topic: str
    reason: str
    #: The stored state as text (cut at ``STORED_TEXT_LIMIT`` characters), for whoever repairs it.
    stored: str


COMMON_DDL = (
    """CREATE TABLE IF NOT EXISTS projection_positions (
        projection TEXT PRIMARY KEY, position BIGINT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS projection_versions (
        projection TEXT NOT NULL, ticket_id TEXT NOT NULL, version BIGINT NOT NULL, hash TEXT,
        PRIMARY KEY (projection, ticket_id))""",
    """CREATE TABLE IF NOT EXISTS set_aside (
        projection TEXT NOT NULL, position BIGINT NOT NULL, ticket_id TEXT NOT NULL,
        version BIGINT NOT NULL, type TEXT NOT NULL, reason TEXT NOT NULL,
        envelope TEXT NOT NULL, PRIMARY KEY (projection, position, ticket_id, version))""",
)


@dataclass(frozen=True)
class SetAside:
    """An envelope a projection could not apply, kept with the reason instead of dropped."""

    envelope: Envelope
    reason: str


class Projection(ABC):
    name: str
    ddl: tuple[str, ...] = ()

    def create_tables(self, tx: Tx) -> None:
        for statement in self.ddl:
            tx.execute(statement)

    def read_state(self, tx: Tx, ticket_ids: Sequence[str]) -> Any:
        """Queue the reads of the state ``apply`` needs for these tickets (``tx.query``), to hand to
        ``apply`` as ``held``; None (the default) when the projection reads nothing or reads for itself.
        """
        return None

    @abstractmethod
    def apply(self, tx: Tx, batch: Sequence[Envelope], held: Any = None) -> list[SetAside]:
        """Apply the batch (already past the version gate) inside ``tx``; return what it set aside.

        ``held`` is what ``read_state`` returned for (at least) the batch's tickets, or None: then
        the projection reads its state itself.
        """

    def reset(self, tx: Tx) -> None:
        """Empty this projection's tables, its applied versions, set-aside events and position."""
        for table in self.tables():
            tx.execute(f"DELETE FROM {table}")
        for table in ("projection_versions", "set_aside", "projection_positions"):
            tx.execute(f"DELETE FROM {table} WHERE projection = ?", (self.name,))

    def tables(self) -> tuple[str, ...]:
        names = []
        for statement in self.ddl:
            words = statement.split()
            if words[:2] == ["CREATE", "TABLE"]:
                names.append(words[5] if words[2:5] == ["IF", "NOT", "EXISTS"] else words[2])
        return tuple(name.split("(")[0] for name in names)


def create_schema(store: ReadStore, projections: Sequence[Projection]) -> None:
    with store.transaction() as tx:
        for statement in COMMON_DDL:
            tx.execute(statement)
        _add_hash_column(tx)
        for projection in projections:
            projection.create_tables(tx)


def _add_hash_column(tx: Tx) -> None:
    """``projection_versions.hash`` for a read model made before the applied hash was kept (null
    there: those versions' links are trusted once, see ``projections.admission``)."""
    if tx.dialect == "sqlite":
        present = any(row[1] == "hash" for row in tx.execute("PRAGMA table_info(projection_versions)"))
    else:
        present = bool(tx.execute(
            "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = 'projection_versions' AND column_name = 'hash'"))
    if not present:
        tx.execute("ALTER TABLE projection_versions ADD COLUMN hash TEXT")


def position_of(tx: Tx, projection: str) -> int:
    rows = tx.execute("SELECT position FROM projection_positions WHERE projection = ?", (projection,))
    return int(rows[0][0]) if rows else 0


def save_position(tx: Tx, projection: str, position: int) -> None:
    tx.execute(
        "INSERT INTO projection_positions (projection, position) VALUES (?, ?) "
        "ON CONFLICT (projection) DO UPDATE SET position = excluded.position",
        (projection, position),
    )


_VERSIONS_UPSERT = (
    "INSERT INTO projection_versions (projection, ticket_id, version, hash) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (projection, ticket_id) DO UPDATE SET version = excluded.version, hash = excluded.hash"
)


def read_versions(tx: Tx, projections: Sequence[str], ticket_ids: Sequence[str]) -> Pending:
    """The applied versions and hashes (projection, ticket_id, version, hash) of these projections
    and tickets."""
    marks = ",".join("?" * len(projections))
    return tx.query_in(
        f"SELECT projection, ticket_id, version, hash FROM projection_versions "
        f"WHERE projection IN ({marks}) AND ticket_id {{in}}", list(projections), ticket_ids,
    )


def record_set_aside(tx: Tx, items: Sequence[tuple[str, SetAside]]) -> None:
    """Keep (projection, set-aside envelope) pairs with their reasons."""
    tx.executemany(
        "INSERT INTO set_aside (projection, position, ticket_id, version, type, reason, envelope) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [
            (projection, i.envelope.position, i.envelope.ticket_id, i.envelope.version,
             i.envelope.type, i.reason, json.dumps(i.envelope.as_map(), sort_keys=True))
            for projection, i in items
        ],
    )


def record_unreadable(tx: Tx, projections: Sequence[str], items: Sequence[Unreadable]) -> None:
    """Keep stored events that could not be read, for each of ``projections``, beside the
    envelopes set aside: type is the stored topic, envelope the stored state as text."""
    tx.executemany(
        "INSERT INTO set_aside (projection, position, ticket_id, version, type, reason, envelope) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [(name, u.position, u.ticket_id, u.version, u.topic, f"unreadable stored event: {u.reason}",
          u.stored) for name in projections for u in items],
    )


Work = Sequence[tuple[Projection, Sequence[Envelope]]]


@dataclass(frozen=True)
class BatchReads:
    """What ``read_batches`` queued: the applied versions and each projection's state."""

    work: list[tuple[Projection, Sequence[Envelope]]]
    versions: Pending | None
    states: list[Any]


def read_batches(tx: Tx, work: Work) -> BatchReads:
    """Queue every read that applying ``work`` (projection, its batch) needs, before any write."""
    ids = sorted({e.ticket_id for _, batch in work for e in batch})
    if not ids:
        return BatchReads(list(work), None, [None] * len(work))
    versions = read_versions(tx, [p.name for p, _ in work], ids)
    states = [
        projection.read_state(tx, sorted({e.ticket_id for e in batch})) if batch else None
        for projection, batch in work
    ]
    return BatchReads(list(work), versions, states)


def apply_read(tx: Tx, reads: BatchReads) -> list[list[SetAside]]:
    """Apply each projection's batch with what ``read_batches`` read; per projection, what it set aside.

    What is let in is decided for the group at once (``projections.admission``): an envelope whose
    hash or link fails is set aside for every projection that has not applied its version. An
    envelope the projection itself sets aside was not applied: its ticket's applied version goes
    back to just before it, so a corrected redelivery is applied rather than skipped.
    """
    applied: dict[str, dict[str, Head]] = {p.name: {} for p, _ in reads.work}
    for name, ticket_id, version, hash_ in reads.versions.rows() if reads.versions is not None else []:
        applied[name][ticket_id] = (int(version), hash_)
    gated = admit([(applied[projection.name], batch) for projection, batch in reads.work])
    moved: list[tuple[str, str, int, str | None]] = []
    for (projection, _), (fresh, _) in zip(reads.work, gated, strict=True):
        heads = applied[projection.name]
        moved += [(projection.name, t, *heads[t]) for t in sorted({e.ticket_id for e in fresh})]
    tx.executemany(_VERSIONS_UPSERT, moved)
    results: list[list[SetAside]] = []
    back: list[tuple[int, str, str, str]] = []
    for (projection, _), (fresh, aside), held in zip(reads.work, gated, reads.states, strict=True):
        refused = projection.apply(tx, fresh) if held is None else projection.apply(tx, fresh, held)
        first_refused: dict[str, Envelope] = {}
        for item in refused:
            known = first_refused.get(item.envelope.ticket_id)
            if known is None or item.envelope.version < known.version:
                first_refused[item.envelope.ticket_id] = item.envelope
        back += [(e.version - 1, e.prev_hash, projection.name, t) for t, e in first_refused.items()]
        results.append([SetAside(e, reason) for e, reason in aside] + refused)
    tx.executemany("UPDATE projection_versions SET version = ?, hash = ? "
                   "WHERE projection = ? AND ticket_id = ?", back)
    record_set_aside(tx, [(projection.name, item) for (projection, _), aside in
                          zip(reads.work, results, strict=True) for item in aside])
    return results


def apply_batches(tx: Tx, work: Work) -> list[list[SetAside]]:
    """``apply_batch`` for several projections in one transaction, their reads sent together."""
    return apply_read(tx, read_batches(tx, work))


def apply_batch(tx: Tx, projection: Projection, batch: Sequence[Envelope]) -> list[SetAside]:
    """The version gate, the projection, and its set-aside envelopes, in one transaction."""
    return apply_batches(tx, [(projection, batch)])[0]
