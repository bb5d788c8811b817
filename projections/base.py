"""What a projection is: pure read-model code, declared tables, and the rows it wants for a state.

A projection is ``evolve(state, envelope) -> state`` (pure: no I/O, no clock) over one ticket's
state, plus ``rows(state)``: the rows the ticket has in each of its tables at that state, and, for
a table that keeps one row per event (``Table.log``), ``entries(state, envelope)``. Its tables are
declared (``projections.schema``): columns, key, indexes, and counters kept by difference.

Everything else is ``projections.runner``'s, the same for every projection and for the live feed,
the Kafka consumer groups and a rebuild: loading each ticket's state, the version gate and the
group's admission (``projections.admission``), setting aside what ``evolve`` refuses, the
statements, upserts and deletes that take the tables from the old rows to the new, the positions,
and batching, on SQLite and PostgreSQL alike. So a projection is tested by feeding envelopes to
``evolve`` and reading ``rows``, without a database.

``evolve`` refuses an envelope by raising: ``Refused`` (with the reason to keep), the domain's
``FoldError``, or the ``KeyError``, ``TypeError`` or ``ValueError`` of a payload that lacks what its
type needs. The runner sets such an envelope aside and goes on with the ticket's state before it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from tickets.projections.schema import Counts, Row, Table
from tickets.wire.envelope import Envelope

S = TypeVar("S")


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


@dataclass(frozen=True)
class SetAside:
    """An envelope a projection could not apply, kept with the reason instead of dropped."""

    envelope: Envelope
    reason: str


class Refused(ValueError):
    """``evolve`` will not apply this envelope; ``str(error)`` is the reason kept with it."""


class Projection(ABC, Generic[S]):
    """One read model. Subclasses declare ``name``, ``state_table`` and ``tables``, and write
    ``evolve`` and ``rows`` (and ``entries`` for a log table)."""

    name: str
    #: Where each ticket's state is kept between batches (``state_row``/``load_state``); None when
    #: ``state_query`` reads it back from the projection's own rows (the audit trail's heads).
    state_table: Table | None = None
    #: The read tables: a ticket's current rows, or one row per event (``Table.log``).
    tables_declared: tuple[Table, ...] = ()
    counts: Counts | None = None

    @abstractmethod
    def evolve(self, state: S | None, envelope: Envelope) -> S:
        """The ticket's state after ``envelope`` (None: the ticket is new to this projection)."""

    def rows(self, state: S) -> Mapping[str, Sequence[Row]]:
        """The ticket's rows, per table not a log, at ``state``: they replace the rows it had."""
        return {}

    def entries(self, state: S, envelope: Envelope) -> Mapping[str, Sequence[Row]]:
        """The rows ``envelope`` appends to log tables, ``state`` being the state after it."""
        return {}

    def state_row(self, state: S) -> Row:
        """``state`` as its row of ``state_table``."""
        raise NotImplementedError(f"{self.name} keeps no state table")

    def load_state(self, row: Row) -> S:
        """The state a row read by ``state_query`` holds (its first column is the ticket id)."""
        raise NotImplementedError(f"{self.name} keeps no state table")

    def state_query(self) -> str | None:
        """Each ticket's state, ``ticket_id`` first (``{in}``: the tickets, see ``Tx.query_in``);
        None when the projection keeps no state between batches."""
        return None if self.state_table is None else self.state_table.select()

    def schema(self) -> tuple[Table, ...]:
        """Every table of this projection: its state, its rows, its counters."""
        counted = () if self.counts is None else (self.counts.table,)
        state = () if self.state_table is None else (self.state_table,)
        return (*state, *self.tables_declared, *counted)

    @property
    def ddl(self) -> tuple[str, ...]:
        return tuple(statement for table in self.schema() for statement in table.ddl())

    def tables(self) -> tuple[str, ...]:
        return tuple(table.name for table in self.schema())
