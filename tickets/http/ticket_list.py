"""The ticket list, read from the dashboard projection's ``dashboard_tickets`` (no aggregate loads).

Order: tickets with a running SLA clock first, earliest due first (``breach_at``, then id); then
every other ticket by id. Both keys are stored columns, so the order is stable while time passes,
and a page is a keyset read after the previous page's last row (the ``after`` cursor), never an
offset. The SLA state is derived at ``now`` from the stored row, as the dashboard figures do it.

The two parts are read apart, each with the SLA-state condition that can hold there: a row with a
running clock (``breach_at`` set) has no fixed state and is breached, at risk or running by the
time; every other row has its state fixed in ``sla_static`` (met, breached, running while paused,
or none). A part where no asked-for state can hold is not read at all.

On PostgreSQL a page is read in one transaction with bitmap scans and sorts off (for that
transaction only, ``set_config(..., true)``): its statistics misjudge how many rows an SLA state
or a cursor leaves (tens of thousands taken for a thousand), and it then read every matching row
and sorted them for a page of 50 (7-17 ms at 100,000 tickets). Walking an index in page order and
stopping at the page's end takes 0.1-0.5 ms for every filter of the benchmark
(docs/performance.md). The connections of ``page_pool``, which read pages only, are told the same
settings once for their session. SQLite is told its index instead (``_index``).

A page that starts among the running clocks (a first page, or a cursor still there) reads both
parts in one statement on PostgreSQL (``_both_parts``): one round trip, the rest never read when
the clocks fill the page.

The reads are steps (``page_steps``, see ``tickets.http.steps``), run in a ``Tx`` by
``list_tickets`` and on an asyncio connection by ``fast_reads``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from tickets.domain.errors import ValidationError
from tickets.http import indexes
from tickets.http.steps import Statement, Steps, run_steps
from tickets.projections.readstore import ReadStore, Tx
from tickets.wire.envelope import format_time, parse_time

SLA_STATES = ("met", "at_risk", "breached", "running", "none")
STATUSES = ("new", "open", "action_needed", "closed")
_COLUMNS = "ticket_id, desk, severity, status, sla_static, risk_at, breach_at"
#: Per part (0: a running clock, by due time; 1: the rest, by id): the SQL for each state, each
#: taking ``now`` once per ``?``; None where the state cannot hold in that part.
_STATE_SQL: tuple[dict[str, str | None], dict[str, str | None]] = (
    # at risk and running both imply breach_at > now (risk_at <= breach_at): said outright, it
    # bounds the walk of the due-time index to the tickets not yet due
    {"breached": "breach_at <= ?", "at_risk": "(breach_at > ? AND risk_at <= ?)",
     "running": "(breach_at > ? AND risk_at > ?)", "met": None, "none": None},
    {"breached": "sla_static = 'breached'", "at_risk": None, "running": "sla_static = 'running'",
     "met": "sla_static = 'met'", "none": "sla_static IS NULL"},
)
_PART = ("breach_at IS NOT NULL", "breach_at IS NULL")
_ORDER = ("breach_at, ticket_id", "ticket_id")


@dataclass(frozen=True)
class TicketQuery:
    desks: Sequence[str] = ()
    statuses: Sequence[str] = ()
    severities: Sequence[str] = ()
    sla_states: Sequence[str] = ()
    due_before: datetime | None = None
    limit: int = 50
    after: str | None = None


class ListedTicket(NamedTuple):
    """A page's ticket as its row lists it (a tuple: cheap to make, and a key for
    ``listed_json``)."""

    ticket_id: str
    desk: str
    severity: str
    status: str
    sla_state: str
    at_risk_at: str | None
    due: str | None


@dataclass(frozen=True)
class Page:
    tickets: list[ListedTicket]
    next: str | None


def sla_state(static: str | None, risk_at: str | None, breach_at: str | None, now: str) -> str:
    if static is not None:
        return static
    if breach_at is None:
        return "none"
    if breach_at <= now:
        return "breached"
    if risk_at is not None and risk_at <= now:
        return "at_risk"
    return "running"


def encode_cursor(phase: int, breach_at: str | None, ticket_id: str) -> str:
    raw = f"{phase}|{breach_at or ''}|{ticket_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[int, str, str]:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        phase, breach_at, ticket_id = raw.split("|")
        if phase not in ("0", "1") or (phase == "0" and not breach_at) or not ticket_id:
            raise ValueError(raw)
        if breach_at:
            parse_time(breach_at)
        return int(phase), breach_at, ticket_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationError("after must be the next cursor of a previous page", field="after",
                              rule="cursor") from None


def _filters(query: TicketQuery, part: int, now: str) -> tuple[list[str], list[Any]] | None:
    """The part's WHERE terms and parameters, or None when nothing asked for can be there."""
    if part == 0 and query.statuses and set(query.statuses) <= {"closed"}:
        return None  # a closed ticket's clocks have stopped: none runs
    where, params = [_PART[part]], []
    for column, values in (("desk", query.desks), ("status", query.statuses),
                           ("severity", query.severities)):
        if values:
            where.append(f"{column} IN ({','.join('?' * len(values))})")
            params += list(values)
    if query.sla_states:
        states = [sql for s in query.sla_states if (sql := _STATE_SQL[part][s]) is not None]
        if not states:
            return None
        where.append("(" + " OR ".join(states) + ")")
        params += [now] * sum(sql.count("?") for sql in states)
    if query.due_before is not None:
        if part == 1:
            return None  # only a running clock has a due time
        where.append("breach_at < ?")
        params.append(format_time(query.due_before))
    return where, params


def _index(dialect: str, query: TicketQuery, part: int) -> str:
    """Which index SQLite walks (see ``indexes``): one severity's, status's or fixed state's rows.

    Without statistics SQLite guesses, and a wrong guess (a status list read whole and sorted
    for a page of 50, or every closed ticket of a desk read to find the few paused ones) costs
    tens of milliseconds at 100,000 tickets. PostgreSQL plans from its own statistics.
    """
    if dialect != "sqlite":
        return ""
    rare_states = query.sla_states and "met" not in query.sla_states  # most fixed states are "met"
    if part == 1 and rare_states:
        name = indexes.REST_BY_STATE
    elif len(query.severities) == 1:
        name = (indexes.DUE_BY_SEVERITY, indexes.REST_BY_SEVERITY)[part]
    elif len(query.statuses) == 1:
        name = (indexes.DUE_BY_STATUS, indexes.REST_BY_STATUS)[part]
    elif part == 0:
        name = indexes.DUE
    else:
        return ""
    return f" INDEXED BY {name}"


#: The planner settings a page is read under on PostgreSQL (see the module's docstring). No
#: parallel plan: a serial Append reads ``_both_parts``' halves in turn, so its rows keep page order.
PAGE_SETTINGS = (("enable_bitmapscan", "off"), ("enable_sort", "off"),
                 ("max_parallel_workers_per_gather", "0"))


def page_settings_sql(local: bool) -> str:
    """``PAGE_SETTINGS`` in one statement: for one transaction (``local``) or for a connection
    that reads pages only (``tickets.http.page_pool``)."""
    return "SELECT " + ", ".join(f"set_config('{name}', '{value}', {str(local).lower()})"
                                 for name, value in PAGE_SETTINGS)


#: What a page's transaction is told first on PostgreSQL: every setting, for this transaction only.
PAGE_ORDER_WALK = page_settings_sql(local=True)


@contextmanager
def page_reads(store: ReadStore) -> Iterator[Tx]:
    """One read-only transaction for a page: on PostgreSQL told ``PAGE_ORDER_WALK`` first, on
    SQLite a snapshot (no write lock)."""
    if store.dialect != "postgres":
        with store.snapshot() as tx:
            yield tx
        return
    with store.transaction() as tx:
        tx.execute(PAGE_ORDER_WALK)
        yield tx


def _statement(dialect: str, query: TicketQuery, part: int, now: str, after: tuple[str, str] | None,
               limit: int) -> Statement | None:
    """The part's page read, or None when it cannot hold a row of the page."""
    found = _filters(query, part, now)
    if found is None or limit <= 0:
        return None
    where, params = found
    if after is not None and part == 0 and dialect == "postgres":
        # a row comparison: PostgreSQL starts the walk of the due-time index at the cursor, in
        # page order; the OR below made it read every later row and sort them for a page of 50
        where.append("(breach_at, ticket_id) > (?, ?)")
        params += list(after)
    elif after is not None and part == 0:
        due, ticket_id = after
        where.append("(breach_at > ? OR (breach_at = ? AND ticket_id > ?))")
        params += [due, due, ticket_id]
    elif after is not None:
        where.append("ticket_id > ?")
        params.append(after[1])
    sql = (f"SELECT {_COLUMNS} FROM dashboard_tickets{_index(dialect, query, part)} "
           f"WHERE {' AND '.join(where)} ORDER BY {_ORDER[part]} LIMIT ?")
    return sql, (*params, limit)


def page_steps(dialect: str, query: TicketQuery, now: datetime) -> Steps[Page]:
    """A page of ``query`` as of ``now``, as steps (``tickets.http.steps``): one read per part,
    or on PostgreSQL one read for both when the page starts in the first (``_both_parts``)."""
    at = format_time(now)
    phase, after_due, after_id = decode_cursor(query.after) if query.after else (0, "", "")
    after = (after_due, after_id) if after_id else None
    rows: list[tuple[Any, ...]] = []
    if phase == 0:
        first = _statement(dialect, query, 0, at, after, query.limit + 1)
        whole = _statement(dialect, query, 1, at, None, query.limit + 1) if first else None
        if first is not None and whole is not None and dialect == "postgres":
            return _page((yield _both_parts(first, whole, query.limit + 1)), query.limit, at)
        if first is not None:
            rows = yield first
        after = None  # the second part starts at its beginning
    rest = _statement(dialect, query, 1, at, after, query.limit + 1 - len(rows))
    if rest is not None:
        rows = rows + (yield rest)
    return _page(rows, query.limit, at)


def _both_parts(first: Statement, rest: Statement, limit: int) -> Statement:
    """Both parts' reads in one statement (PostgreSQL): one round trip where there were two.

    PostgreSQL's Append reads its subplans in turn and the outer LIMIT stops it once the page is
    full, so the rest is read only when the running clocks leave room (its scan is never
    started otherwise: ``EXPLAIN`` says "never executed"), and the rows come in page order
    (``PAGE_SETTINGS`` rules out a parallel plan, whose workers could interleave the halves).
    """
    (first_sql, first_params), (rest_sql, rest_params) = first, rest
    return (f"SELECT * FROM (({first_sql}) UNION ALL ({rest_sql})) AS page LIMIT ?",
            (*first_params, *rest_params, limit))


def _page(rows: list[tuple[Any, ...]], limit: int, at: str) -> Page:
    """The page of ``rows`` (up to ``limit`` + 1, in page order): the next cursor when there
    is a row past the page."""
    page = [ListedTicket(t, d, sev, st, sla_state(static, risk, due, at), risk, due)
            for t, d, sev, st, static, risk, due in rows[:limit]]
    last = page[-1] if page else None
    cursor = None
    if len(rows) > limit and last is not None:
        cursor = encode_cursor(0 if last.due is not None else 1, last.due, last.ticket_id)
    return Page(page, cursor)


def list_tickets(store: ReadStore, query: TicketQuery, now: datetime, tx: Tx | None = None) -> Page:
    """A page of ``query`` as of ``now``, read in ``tx`` (or a ``page_reads`` of its own)."""
    if tx is None:
        with page_reads(store) as own:
            return list_tickets(store, query, now, own)
    return run_steps(tx, page_steps(tx.dialect, query, now))
