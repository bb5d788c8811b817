"""What every projection shares: its tables, its position, the version gate, and set-aside events.

A projection is a pure function of (its state, an envelope) plus a store. The runner hands it a
batch of envelopes inside one transaction; the projection loads the state it needs for the
batch, applies the pure function to each envelope in order, writes its rows, and the runner
records the projection's position in the same transaction. So a crash anywhere leaves either
all of a batch or none of it, and a restart applies every event exactly once.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from consumers.envelope import Envelope
from consumers.readstore import ReadStore, Tx

COMMON_DDL = (
    """CREATE TABLE IF NOT EXISTS projection_positions (
        projection TEXT PRIMARY KEY, position BIGINT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS projection_versions (
        projection TEXT NOT NULL, ticket_id TEXT NOT NULL, version BIGINT NOT NULL,
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

    @abstractmethod
    def apply(self, tx: Tx, batch: Sequence[Envelope]) -> list[SetAside]:
        """Apply the batch (already past the version gate) inside ``tx``; return what it set aside."""

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
        for projection in projections:
            projection.create_tables(tx)


def position_of(tx: Tx, projection: str) -> int:
    rows = tx.execute("SELECT position FROM projection_positions WHERE projection = ?", (projection,))
    return int(rows[0][0]) if rows else 0


def save_position(tx: Tx, projection: str, position: int) -> None:
    tx.execute(
        "INSERT INTO projection_positions (projection, position) VALUES (?, ?) "
        "ON CONFLICT (projection) DO UPDATE SET position = excluded.position",
        (projection, position),
    )


def gate(
    tx: Tx, projection: str, batch: Sequence[Envelope]
) -> tuple[list[Envelope], list[SetAside]]:
    """Skip versions already applied; set aside an envelope that leaves a gap in versions.

    Returns the envelopes to apply, in order, and records the new applied versions.
    """
    ids = sorted({e.ticket_id for e in batch})
    applied: dict[str, int] = {}
    for chunk in range(0, len(ids), 500):
        part = ids[chunk:chunk + 500]
        marks = ",".join("?" * len(part))
        for ticket_id, version in tx.execute(
            f"SELECT ticket_id, version FROM projection_versions "
            f"WHERE projection = ? AND ticket_id IN ({marks})", (projection, *part),
        ):
            applied[ticket_id] = int(version)
    fresh: list[Envelope] = []
    aside: list[SetAside] = []
    for envelope in batch:
        last = applied.get(envelope.ticket_id, 0)
        if envelope.version <= last:
            continue  # a duplicate: already applied
        if envelope.version != last + 1:
            aside.append(SetAside(envelope, f"gap in versions: expected {last + 1}, got "
                                            f"{envelope.version}"))
            continue
        applied[envelope.ticket_id] = envelope.version
        fresh.append(envelope)
    touched = {e.ticket_id for e in fresh}
    tx.executemany(
        "INSERT INTO projection_versions (projection, ticket_id, version) VALUES (?, ?, ?) "
        "ON CONFLICT (projection, ticket_id) DO UPDATE SET version = excluded.version",
        [(projection, t, applied[t]) for t in sorted(touched)],
    )
    return fresh, aside


def record_set_aside(tx: Tx, projection: str, items: Sequence[SetAside]) -> None:
    tx.executemany(
        "INSERT INTO set_aside (projection, position, ticket_id, version, type, reason, envelope) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [
            (projection, i.envelope.position, i.envelope.ticket_id, i.envelope.version,
             i.envelope.type, i.reason, json.dumps(i.envelope.as_map(), sort_keys=True))
            for i in items
        ],
    )


def apply_batch(tx: Tx, projection: Projection, batch: Sequence[Envelope]) -> list[SetAside]:
    """The version gate, the projection, and its set-aside envelopes, in one transaction.

    An envelope the projection itself sets aside was not applied: its ticket's applied version
    goes back to just before it, so a corrected redelivery is applied rather than skipped.
    """
    fresh, aside = gate(tx, projection.name, batch)
    refused = projection.apply(tx, fresh)
    first_refused: dict[str, int] = {}
    for item in refused:
        ticket, version = item.envelope.ticket_id, item.envelope.version
        first_refused[ticket] = min(version, first_refused.get(ticket, version))
    tx.executemany(
        "UPDATE projection_versions SET version = ? WHERE projection = ? AND ticket_id = ?",
        [(version - 1, projection.name, ticket) for ticket, version in first_refused.items()],
    )
    aside += refused
    record_set_aside(tx, projection.name, aside)
    return aside
