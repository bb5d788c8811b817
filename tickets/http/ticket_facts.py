"""What a listed ticket shows beyond its dashboard row: number, title, plan, opening time.

These never change for a ticket, so they are kept in memory once read (up to ``KEPT`` tickets per
read store), and a page of tickets usually costs no read at all beyond the list itself. What is
missing comes from the dashboard projection's own copy of each ticket's facts (``dashboard_facts``)
and the title from the ticket's first audit-trail entry (its Opened event): one ``IN (...)`` read
of both, joined, with the database picking the few values out of the JSON text, in the page's own
transaction when it is given. What does change (level, agent, version) is in the ticket's own
detail.

On SQLite the values are ``json_extract``'s and the ids an ``IN (...)`` list. On PostgreSQL the
facts' text is read once by ``json_to_record`` (each ``->>`` of a ``json`` value reads the text
again from its start: three of them cost about a millisecond of the server's CPU per 50 tickets)
and the ids are one array, so the statement's text is the same for every page and psycopg
prepares it once per connection (docs/performance.md).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any
from weakref import WeakKeyDictionary

from tickets.http.steps import Statement, Steps, run_steps
from tickets.projections.readstore import ReadStore, Tx

FROM_FACTS = ("number", "plan", "opened_at")
KEPT = 100_000

_kept: WeakKeyDictionary[ReadStore, OrderedDict[str, dict[str, Any]]] = WeakKeyDictionary()
_lock = threading.Lock()


def complete(extra: dict[str, Any]) -> bool:
    """Whether a ticket's described facts are all there: then they never change."""
    return extra.get("number") is not None and extra.get("title") is not None


def _statement(dialect: str, ticket_ids: Sequence[str]) -> Statement:
    joined = "LEFT JOIN audit_trail a ON a.ticket_id = f.ticket_id AND a.version = 1"
    if dialect == "sqlite":
        picked = ", ".join(f"json_extract(f.facts, '$.{key}')" for key in FROM_FACTS)
        return (f"SELECT f.ticket_id, {picked}, json_extract(a.payload, '$.title') "
                f"FROM dashboard_facts f {joined} "
                f"WHERE f.ticket_id IN ({','.join('?' * len(ticket_ids))})", ticket_ids)
    picked = ", ".join(f"x.{key}" for key in FROM_FACTS)
    record = ", ".join(f"{key} text" for key in FROM_FACTS)
    return (f"SELECT f.ticket_id, {picked}, CAST(a.payload AS json) ->> 'title' "
            f"FROM dashboard_facts f CROSS JOIN LATERAL json_to_record(CAST(f.facts AS json)) "
            f"AS x({record}) {joined} WHERE f.ticket_id = ANY(?)", [list(ticket_ids)])


def describe_steps(store: ReadStore, dialect: str, ticket_ids: Sequence[str]
                   ) -> Steps[dict[str, dict[str, Any]]]:
    """ticket id → number, title, plan, opened_at (ids the read models do not hold map to nothing),
    as steps (``tickets.http.steps``): no read at all when every ticket is kept."""
    with _lock:
        kept = _kept.setdefault(store, OrderedDict())
        described = {t: kept[t] for t in ticket_ids if t in kept}
    missing = [t for t in ticket_ids if t not in described]
    if not missing:
        return described
    found: dict[str, dict[str, Any]] = {}
    for ticket_id, *values, title in (yield _statement(dialect, missing)):
        found[ticket_id] = {**dict(zip(FROM_FACTS, values, strict=True)), "title": title}
    with _lock:
        for ticket_id, extra in found.items():
            if complete(extra):
                kept[ticket_id] = extra  # complete: it will never change
        while len(kept) > KEPT:
            kept.popitem(last=False)
    return described | found


def describe(store: ReadStore, ticket_ids: Sequence[str], tx: Tx | None = None
             ) -> dict[str, dict[str, Any]]:
    """``describe_steps`` read in ``tx`` when given (the page's transaction), else in a snapshot."""
    if tx is None:
        with store.snapshot() as own:
            return describe(store, ticket_ids, own)
    return run_steps(tx, describe_steps(store, tx.dialect, ticket_ids))
