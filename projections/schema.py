"""A projection's tables, declared: columns, key, indexes, and the statements the runner makes of them.

Nothing here runs SQL; ``projections.runner`` does. The SQL is the dialect SQLite and PostgreSQL
share (``?`` placeholders, ``INSERT ... ON CONFLICT``), in the shapes ``projections.pg_batches``
turns into one statement per batch on PostgreSQL.

Every table a projection keeps per ticket has ``ticket_id`` as its first column: the runner finds
a ticket's rows by it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

Row = tuple[Any, ...]


@dataclass(frozen=True)
class Table:
    """One table: ``columns`` as (name, SQL type) pairs, its primary ``key``, its extra indexes.

    ``log``: one row per applied event, appended and never replaced (the audit trail); otherwise
    the table holds each ticket's current rows, replaced as a whole when the ticket moves on.
    """

    name: str
    columns: tuple[tuple[str, str], ...]
    key: tuple[str, ...]
    indexes: tuple[str, ...] = ()  # ``CREATE INDEX IF NOT EXISTS ...`` statements, as they are
    log: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    def ddl(self) -> tuple[str, ...]:
        columns = ", ".join(f"{name} {kind}" for name, kind in self.columns)
        return (f"CREATE TABLE IF NOT EXISTS {self.name} ({columns}, "
                f"PRIMARY KEY ({', '.join(self.key)}))", *self.indexes)

    def select(self) -> str:
        """Every column of the rows of some tickets (``{in}``: see ``Tx.query_in``)."""
        return f"SELECT {', '.join(self.names)} FROM {self.name} WHERE ticket_id {{in}}"

    def insert(self) -> str:
        return (f"INSERT INTO {self.name} ({', '.join(self.names)}) "
                f"VALUES ({', '.join('?' * len(self.columns))})")

    def upsert(self) -> str:
        updates = ", ".join(f"{c} = excluded.{c}" for c in self.names if c not in self.key)
        return f"{self.insert()} ON CONFLICT ({', '.join(self.key)}) DO UPDATE SET {updates}"

    def delete(self) -> str:
        """Delete one row by its key (parameters in ``key`` order)."""
        return f"DELETE FROM {self.name} WHERE " + " AND ".join(f"{c} = ?" for c in self.key)

    def key_of(self, row: Row) -> Row:
        positions = self._key_positions()
        return tuple(row[i] for i in positions)

    def _key_positions(self) -> tuple[int, ...]:
        cached: tuple[int, ...] | None = self.__dict__.get("_positions")
        if cached is None:
            cached = tuple(self.names.index(c) for c in self.key)
            object.__setattr__(self, "_positions", cached)
        return cached


@dataclass(frozen=True)
class Counts:
    """Counters kept by difference: what the rows of ``source`` add one to, per counter key.

    ``table``'s last column is the count; the others are the counter's key, in the order ``keys``
    gives them. When a ticket's rows change, the counters move by what the new rows count minus
    what the old rows counted, and a counter at zero is removed: so they never depend on how the
    events were batched.
    """

    table: Table
    source: str
    keys: Callable[[Row], Iterable[Row]]

    def add(self) -> str:
        names = self.table.names
        count = names[-1]
        return (f"{self.table.insert()} ON CONFLICT ({', '.join(self.table.key)}) "
                f"DO UPDATE SET {count} = {self.table.name}.{count} + excluded.{count}")

    def drop_zero(self) -> str:
        names = self.table.names
        return (f"DELETE FROM {self.table.name} WHERE "
                + " AND ".join(f"{c} = ?" for c in names[:-1]) + f" AND {names[-1]} = 0")

    def moves(self, added: Iterable[Row], removed: Iterable[Row]) -> list[tuple[str, list[Row]]]:
        """The writes that move the counters by what the ``added`` rows of ``source`` count minus
        what the ``removed`` ones counted, and drop the counters left at zero."""
        delta: Counter[Row] = Counter()
        for row in added:
            delta.update(self.keys(row))
        for row in removed:
            delta.subtract(self.keys(row))
        moved = sorted((key, n) for key, n in delta.items() if n != 0)
        return [(self.add(), [(*key, n) for key, n in moved]),
                (self.drop_zero(), [key for key, _ in moved])]
