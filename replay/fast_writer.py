"""A batch of a rebuild, written fast where it can be and by the projections' own code where not.

A ticket goes the fast way when the rebuild holds its state in memory or the batch starts it
(version 1): its envelopes are folded once, and each projection that has a fast writer
(``replay.fast_rows``) writes the ticket's final rows once. Every other ticket (one a previous,
interrupted run wrote, or one whose events the fold refuses), and every projection without a fast
writer, goes through ``projections.base.apply_batch``, exactly as the live feed applies it, which
also sets aside what the live feed would.

Events sealed from the store by the rebuild itself hold their chain by construction. Events from
anywhere else (``tickets.events``: ``verify``) go the fast way only while each one's hash is that
of its content and its ``prev_hash`` links to the event before: a ticket with one that does not
goes the projections' own way, whose admission sets it aside exactly as the live group does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tickets.domain.catalogue import Catalogue
from tickets.domain.errors import TicketError
from tickets.domain.facts import FoldError
from tickets.projections.admission import recomputed_hash
from tickets.projections.base import Projection, apply_batch
from tickets.projections.envelope import GENESIS
from tickets.projections.readstore import Tx
from tickets.replay.fast_rows import WRITERS, Finished, Statement, Writer
from tickets.replay.fast_state import TicketState, advance
from tickets.replay.log_source import Sealed

#: What a refused fold or an unknown desk raises: the ticket goes the projections' own way instead.
REFUSALS = (FoldError, TicketError, KeyError, TypeError, ValueError)


@dataclass(frozen=True)
class Prepared:
    batch: Sequence[Sealed]
    done: list[Finished]  # tickets folded the fast way
    rest: list[Sealed]  # events of tickets that go the projections' own way
    statements: list[Statement]


class FastWriter:
    def __init__(self, catalogue: Catalogue, projections: Sequence[Projection],
                 fast: Sequence[str] | None = None, *, verify: bool = False) -> None:
        """``fast``: the projection names to write fast (default: every one with a fast writer);
        ``verify``: check each event's hash and link before folding it (events not from the store)."""
        self.catalogue = catalogue
        self.verify = verify
        names = set(WRITERS) if fast is None else set(fast)
        self.fast: list[tuple[Writer, Projection]] = [
            (WRITERS[p.name][0], p) for p in projections if p.name in WRITERS and p.name in names]
        self.slow = [p for p in projections if p.name not in WRITERS or p.name not in names]
        self.states: dict[str, TicketState] = {}
        self.slow_envelopes = 0

    def prepare(self, batch: Sequence[Sealed]) -> Prepared:
        """Fold the batch and build the fast rows, outside any transaction."""
        by_ticket: dict[str, list[Sealed]] = {}
        for event in batch:
            ticket = event.row[0]
            held = by_ticket.get(ticket)
            if held is None:
                by_ticket[ticket] = [event]
            else:
                held.append(event)
        done: list[Finished] = []
        quick: list[Sealed] = []
        rest: list[Sealed] = []
        for ticket_id, events in by_ticket.items():
            finished = self._fold(ticket_id, events) if self.fast else None
            if finished is None:
                rest += events
            else:
                done.append(finished)
                quick += events
        statements = [s for write, _ in self.fast for s in write(self.catalogue, done, quick)]
        return Prepared(batch, done, rest, statements)

    def write(self, tx: Tx, prepared: Prepared) -> None:
        """The prepared rows, then the projections' own way for the rest, in ``tx``."""
        for sql, rows in prepared.statements:
            tx.executemany(sql, rows)
        for finished in prepared.done:
            finished.state.written = True
            self.states[finished.ticket_id] = finished.state
        if prepared.rest:
            rest = [event.envelope() for event in prepared.rest]
            for _, projection in self.fast:
                apply_batch(tx, projection, rest)
        if self.slow:
            batch = [event.envelope() for event in prepared.batch]
            for projection in self.slow:
                apply_batch(tx, projection, batch)
        self.slow_envelopes += len(prepared.rest)

    def apply(self, tx: Tx, batch: Sequence[Sealed]) -> None:
        self.write(tx, self.prepare(batch))

    def _fold(self, ticket_id: str, events: list[Sealed]) -> Finished | None:
        """The ticket's state after its events, or None when it must go the slow way."""
        state = self.states.pop(ticket_id, None)
        if state is None and events[0].entry.version != 1:
            return None  # its state is only in the target's tables
        try:
            for event in events:
                if self.verify and not _links(event, state.hash if state is not None else GENESIS):
                    return None
                state = advance(state, event.entry, event.row[12])
                state.hash = event.row[11]
            assert state is not None
            return Finished(state, self.catalogue)
        except REFUSALS:
            return None  # forgotten here: from now on its state is read back from the tables


def _links(event: Sealed, prev_hash: str) -> bool:
    """The event's ``prev_hash`` is ``prev_hash`` and its hash is that of its content."""
    return bool(event.row[10] == prev_hash and recomputed_hash(event.envelope()) == event.row[11])
