"""The one runner of projections: state in, ``evolve``, rows out, in one transaction per batch.

Every caller — the embedded feed, the Kafka consumer groups, a rebuild — hands the runner batches
of envelopes, one per projection, inside a read-store transaction. For a batch the runner

1. reads, before any write, what the batch needs (``read_batches``): the applied versions of every
   projection in one query, then each projection's state (``Projection.state_query``) and the rows
   the tickets have now in its tables — on PostgreSQL in a pipelined transaction these are one
   round trip;
2. lets in what the group's admission lets in (``projections.admission``: the version gate, each
   envelope's hash and link, decided once for every projection);
3. folds each projection's envelopes with its pure ``evolve``, setting aside what it refuses
   (``SetAside``, kept in ``set_aside`` with the reason; the ticket's applied version goes back to
   just before it, so a corrected redelivery is applied rather than skipped as a duplicate);
4. writes, per touched ticket, the new state and the difference between the rows it had and the
   rows ``Projection.rows`` gives now: rows gone are deleted, rows new or changed upserted, rows
   unchanged left alone, counters moved by what the new rows count minus what the old ones did,
   and a log table's rows appended.

The caller records the positions (``save_position``) in the same transaction, so a crash leaves all
of a batch or none of it, and a restart applies every event exactly once.

A long run over one group (a rebuild part) passes a ``Held``: the runner then keeps each ticket's
applied version and state in memory from batch to batch instead of reading them back, and takes a
ticket it does not hold whose batch starts at version 1 as new (a rebuild's part reads the log in
order, so that ticket has nothing in the tables yet). Every other ticket is read as above: the
rows written are the same either way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tickets.domain.facts import FoldError
from tickets.projections.admission import Head, admit
from tickets.projections.base import Projection, Refused, SetAside, Unreadable
from tickets.projections.readstore import Pending, ReadStore, Tx
from tickets.projections.schema import Row, Table
from tickets.wire.envelope import Envelope

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

Work = Sequence[tuple[Projection[Any], Sequence[Envelope]]]
Statement = tuple[str, list[Row]]


def create_schema(store: ReadStore, projections: Sequence[Projection[Any]]) -> None:
    with store.transaction() as tx:
        for statement in COMMON_DDL:
            tx.execute(statement)
        _add_hash_column(tx)
        for projection in projections:
            for statement in projection.ddl:
                tx.execute(statement)


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


def reset(tx: Tx, projection: Projection[Any]) -> None:
    """Empty the projection's tables, its applied versions, set-aside events and position."""
    for table in projection.tables():
        tx.execute(f"DELETE FROM {table}")
    for table in ("projection_versions", "set_aside", "projection_positions"):
        tx.execute(f"DELETE FROM {table} WHERE projection = ?", (projection.name,))


def position_of(tx: Tx, projection: str) -> int:
    rows = tx.execute("SELECT position FROM projection_positions WHERE projection = ?", (projection,))
    return int(rows[0][0]) if rows else 0


def save_position(tx: Tx, projection: str, position: int) -> None:
    tx.execute(
        "INSERT INTO projection_positions (projection, position) VALUES (?, ?) "
        "ON CONFLICT (projection) DO UPDATE SET position = excluded.position",
        (projection, position),
    )


VERSIONS_UPSERT = (
    "INSERT INTO projection_versions (projection, ticket_id, version, hash) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (projection, ticket_id) DO UPDATE SET version = excluded.version, hash = excluded.hash"
)
_SET_ASIDE = ("INSERT INTO set_aside (projection, position, ticket_id, version, type, reason, envelope) "
              "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")


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
    tx.executemany(*_set_aside_rows(items))


def _set_aside_rows(items: Sequence[tuple[str, SetAside]]) -> Statement:
    return (_SET_ASIDE, [
        (projection, i.envelope.position, i.envelope.ticket_id, i.envelope.version,
         i.envelope.type, i.reason, json.dumps(i.envelope.as_map(), sort_keys=True))
        for projection, i in items
    ])


def record_unreadable(tx: Tx, projections: Sequence[str], items: Sequence[Unreadable]) -> None:
    """Keep stored events that could not be read, for each of ``projections``, beside the
    envelopes set aside: type is the stored topic, envelope the stored state as text."""
    tx.executemany(_SET_ASIDE, [
        (name, u.position, u.ticket_id, u.version, u.topic, f"unreadable stored event: {u.reason}",
         u.stored) for name in projections for u in items])


@dataclass
class Held:
    """What a long run over one group keeps in memory between batches, per projection: each
    ticket's applied version and hash, and its state (whose rows are in the tables)."""

    heads: dict[str, dict[str, Head]] = field(default_factory=dict)
    states: dict[str, dict[str, Any]] = field(default_factory=dict)

    def knows(self, names: Sequence[str], ticket_id: str) -> bool:
        return all(ticket_id in self.heads.get(name, ()) for name in names)


@dataclass(frozen=True)
class BatchReads:
    """What ``read_batches`` queued: the applied versions, each projection's state and rows."""

    work: list[tuple[Projection[Any], Sequence[Envelope]]]
    versions: Pending | None
    states: list[Pending | None]
    rows: list[dict[str, Pending]]
    #: The tickets read (the others are held, or new).
    ids: frozenset[str] = frozenset()
    held: Held | None = None


def _unread(work: Work, held: Held | None) -> list[str]:
    """The tickets whose versions, state and rows must be read from the tables."""
    firsts: dict[str, int] = {}
    for batch in {id(batch): batch for _, batch in work}.values():  # the group's batch, once
        for e in batch:
            if e.version < firsts.get(e.ticket_id, e.version + 1):
                firsts[e.ticket_id] = e.version
    if held is None:
        return sorted(firsts)
    names = [p.name for p, _ in work]
    return sorted(t for t, first in firsts.items() if not held.knows(names, t) and first != 1)


def reads_held(work: Work, held: Held) -> BatchReads | None:
    """What ``read_batches`` gives when every ticket of ``work`` is held or new, without a
    transaction; None when some ticket must be read from the tables."""
    if _unread(work, held):
        return None
    return BatchReads(list(work), None, [None] * len(work), [{} for _ in work], held=held)


def read_batches(tx: Tx, work: Work, held: Held | None = None) -> BatchReads:
    """Queue every read that applying ``work`` (projection, its batch) needs, before any write."""
    ids = _unread(work, held)
    if not ids:
        return BatchReads(list(work), None, [None] * len(work), [{} for _ in work], held=held)
    versions = read_versions(tx, [p.name for p, _ in work], ids)
    states: list[Pending | None] = []
    rows: list[dict[str, Pending]] = []
    for projection, batch in work:
        mine = sorted({e.ticket_id for e in batch}.intersection(ids))
        if not mine:
            states.append(None)
            rows.append({})
            continue
        query = projection.state_query()
        states.append(None if query is None else tx.query_in(query, (), mine))
        rows.append({table.name: tx.query_in(table.select(), (), mine)
                     for table in _replaced(projection)})
    return BatchReads(list(work), versions, states, rows, frozenset(ids), held)


def _replaced(projection: Projection[Any]) -> tuple[Table, ...]:
    """The tables whose rows the runner replaces per ticket (not logs)."""
    return tuple(t for t in projection.tables_declared if not t.log)


@dataclass(frozen=True)
class Planned:
    """A batch worked out: the statements that write it, in order, and per projection what it set
    aside. Working it out does no I/O once the reads have come back."""

    statements: list[Statement]
    set_aside: list[list[SetAside]]

    def write(self, tx: Tx) -> list[list[SetAside]]:
        for sql, rows in self.statements:
            tx.executemany(sql, rows)
        return self.set_aside


def plan(reads: BatchReads) -> Planned:
    """Work out what applying each projection's batch writes, with what ``read_batches`` read.

    What is let in is decided for the group at once (``projections.admission``): an envelope whose
    hash or link fails is set aside for every projection that has not applied its version. An
    envelope ``evolve`` refuses was not applied: its ticket's applied version goes back to just
    before it, so a corrected redelivery is applied rather than skipped. With a ``Held``, what it
    holds moves on here: the caller writes the statements or gives up the run.
    """
    held = reads.held
    ids: dict[int, list[str]] = {}  # the tickets of each list, worked out once (usually one list)
    applied: dict[str, dict[str, Head]] = {}
    for projection, batch in reads.work:
        known = held.heads.setdefault(projection.name, {}) if held is not None else {}
        applied[projection.name] = {t: known[t] for t in _tickets(batch, ids) if t in known}
    for name, ticket_id, version, hash_ in reads.versions.rows() if reads.versions is not None else []:
        applied[name][ticket_id] = (int(version), hash_)
    gated = admit([(applied[projection.name], batch) for projection, batch in reads.work])
    befores = [_before(projection, _tickets(fresh, ids), state_rows, row_reads, held)
               for (projection, _), (fresh, _), state_rows, row_reads
               in zip(reads.work, gated, reads.states, reads.rows, strict=True)]
    folds = fold([p for p, _ in reads.work], [before for before, _ in befores],
                 [fresh for fresh, _ in gated])
    derived = derive([p for p, _ in reads.work], [after for after, _, _ in folds])
    tickets: dict[int, list[str]] = {}  # the tickets of each list let in (usually one for all)
    out: list[Statement] = []
    results: list[list[SetAside]] = []
    for (projection, _), (fresh, aside), (before, read), (after, logs, refused), new in zip(
            reads.work, gated, befores, folds, derived, strict=True):
        heads = applied[projection.name]
        moved = tickets.get(id(fresh)) or tickets.setdefault(id(fresh), sorted(_tickets(fresh, ids)))
        out.append((VERSIONS_UPSERT, [(projection.name, t, *heads[t]) for t in moved]))
        old: dict[str, Mapping[str, Sequence[Row]]] = {}
        for t in after:
            if t in reads.ids:
                old[t] = read.get(t, {})  # as read (a ticket may have state and no rows)
            elif t in before:
                old[t] = projection.rows(before[t])  # held: the rows written for the state held
        out += statements(projection, new, old, logs)
        back: dict[str, Envelope] = {}
        for item in refused:
            first = back.get(item.envelope.ticket_id)
            if first is None or item.envelope.version < first.version:
                back[item.envelope.ticket_id] = item.envelope
        out.append(("UPDATE projection_versions SET version = ?, hash = ? "
                    "WHERE projection = ? AND ticket_id = ?",
                    [(e.version - 1, e.prev_hash, projection.name, t) for t, e in back.items()]))
        if held is not None:
            held.states[projection.name].update(after)
            held_heads = held.heads[projection.name]
            held_heads.update((t, heads[t]) for t in moved)
            held_heads.update((t, (e.version - 1, e.prev_hash)) for t, e in back.items())
        set_aside = [SetAside(e, reason) for e, reason in aside] + refused
        out.append(_set_aside_rows([(projection.name, item) for item in set_aside]))
        results.append(set_aside)
    return Planned(out, results)


def apply_read(tx: Tx, reads: BatchReads) -> list[list[SetAside]]:
    """Apply each projection's batch with what ``read_batches`` read; per projection, what it set
    aside (see ``plan``)."""
    return plan(reads).write(tx)


def _tickets(batch: Sequence[Envelope], ids: dict[int, list[str]]) -> list[str]:
    """The tickets of ``batch``, each once (kept in ``ids`` by the list's identity: the lists live
    as long as the plan that asks)."""
    found = ids.get(id(batch))
    if found is None:
        found = ids[id(batch)] = list(dict.fromkeys([e.ticket_id for e in batch]))
    return found


def _before(projection: Projection[Any], tickets: Sequence[str], state_rows: Pending | None,
            row_reads: dict[str, Pending], held: Held | None
            ) -> tuple[dict[str, Any], dict[str, dict[str, list[Row]]]]:
    """The states of the batch's ``tickets`` before it (held, or as read), and the rows read."""
    kept = held.states.setdefault(projection.name, {}) if held is not None else {}
    before = {t: kept[t] for t in tickets if t in kept}
    if state_rows is not None:
        before.update((row[0], projection.load_state(row)) for row in state_rows.rows())
    read: dict[str, dict[str, list[Row]]] = {}
    for name, pending in row_reads.items():
        for row in pending.rows():
            read.setdefault(row[0], {}).setdefault(name, []).append(row)
    return before, read


Folded = tuple[dict[str, Any], dict[str, list[Row]], list[SetAside]]


def fold(projections: Sequence[Projection[Any]], states: Sequence[dict[str, Any]],
         batches: Sequence[Sequence[Envelope]]) -> list[Folded]:
    """Each projection's envelopes folded into its tickets' states with ``evolve``, in order; no I/O.

    Returns per projection the states of the tickets moved, the rows appended to log tables, and
    the envelopes set aside: what ``evolve`` refuses, whose ticket keeps its state from before the
    envelope. When every projection has the same envelopes (the usual group), each envelope goes
    to every projection in turn, so the projections that fold the same facts share one fold
    (``projections.facts_memo``) while it is fresh.
    """
    first = batches[0] if batches else ()
    if any(b is not first for b in batches):  # the group's admission hands out one list
        return [fold([p], [s], [b])[0] for p, s, b in zip(projections, states, batches, strict=True)]
    result: list[Folded] = [({}, {}, []) for _ in projections]
    steps = [(p.evolve, p.entries if any(t.log for t in p.tables_declared) else None, dict(s),
              after, logs, aside) for p, s, (after, logs, aside) in zip(projections, states, result,
                                                                      strict=True)]
    for envelope in first:
        ticket_id = envelope.ticket_id
        for evolve, entries, current, after, logs, aside in steps:
            try:
                state = evolve(current.get(ticket_id), envelope)
            except Refused as error:
                aside.append(SetAside(envelope, str(error)))
                continue
            except FoldError as error:
                aside.append(SetAside(envelope, f"{error.rule}: {error}"))
                continue
            except (KeyError, TypeError, ValueError) as error:
                aside.append(SetAside(envelope, f"malformed {envelope.type} payload: {error!r}"))
                continue
            current[ticket_id] = after[ticket_id] = state
            if entries is not None:
                for name, rows in entries(state, envelope).items():
                    logs.setdefault(name, []).extend(rows)
    return result


Derived = dict[str, tuple[Row | None, Mapping[str, Sequence[Row]]]]


def derive(projections: Sequence[Projection[Any]], afters: Sequence[dict[str, Any]]) -> list[Derived]:
    """Per projection, each moved ticket's state row and rows, by ticket id; no I/O.

    Ticket by ticket across the projections, so the projections that derive rows from the same
    facts share the clocks computed for them (``projections.facts_memo``) while they are fresh.
    """
    result: list[Derived] = [{} for _ in projections]
    steps = [(p.rows, p.state_row if p.state_table is not None else None, after, derived)
             for p, after, derived in zip(projections, afters, result, strict=True)]
    for ticket_id in sorted({t for after in afters for t in after}):
        for rows, state_row, after, derived in steps:
            state = after.get(ticket_id, _MISSING)
            if state is not _MISSING:
                derived[ticket_id] = (None if state_row is None else state_row(state), rows(state))
    return result


_MISSING = object()


def statements(projection: Projection[Any], new: Derived,
               old: Mapping[str, Mapping[str, Sequence[Row]]], logs: Mapping[str, Sequence[Row]]
               ) -> list[Statement]:
    """The writes that take each ticket in ``new`` (its state row and rows, from ``derive``) from
    its rows in ``old`` (none when missing), and append ``logs``; no I/O."""
    tickets = sorted(new)
    out: list[Statement] = []
    if projection.state_table is not None:
        out.append((projection.state_table.upsert(), [new[t][0] for t in tickets]))  # type: ignore[misc]
    empty: Mapping[str, Sequence[Row]] = {}
    for table in projection.tables_declared:
        if table.log:
            out.append((table.insert(), list(logs.get(table.name, ()))))
            continue
        gone: list[Row] = []
        changed: list[Row] = []
        for t in tickets:
            now = new[t][1].get(table.name, ())
            was = old.get(t, empty).get(table.name, ())
            if not was:
                changed.extend(now)
                continue
            by_key = {table.key_of(row): row for row in was}
            for row in now:
                if by_key.pop(table.key_of(row), None) != row:
                    changed.append(row)
            gone.extend(by_key)
        out += [(table.delete(), gone), (table.upsert(), changed)]
    counts = projection.counts
    if counts is not None:
        out += counts.moves(
            (row for t in tickets for row in new[t][1].get(counts.source, ())),
            (row for t in tickets for row in old.get(t, empty).get(counts.source, ())))
    return out


def apply_batches(tx: Tx, work: Work, held: Held | None = None) -> list[list[SetAside]]:
    """Apply each projection's batch in one transaction, every read sent before any write."""
    return apply_read(tx, read_batches(tx, work, held))


def apply_batch(tx: Tx, projection: Projection[Any], batch: Sequence[Envelope]) -> list[SetAside]:
    """The version gate, the projection, and its set-aside envelopes, in one transaction."""
    return apply_batches(tx, [(projection, batch)])[0]
