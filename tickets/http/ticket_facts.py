"""What a listed ticket shows beyond its dashboard row: number, title, plan, opening time.

These never change for a ticket, so they are kept in memory once read (up to ``KEPT`` tickets per
read store), and a page of tickets usually costs no read at all beyond the list itself. What is
missing comes from the dashboard projection's own copy of each ticket's facts (``dashboard_facts``)
and the title from the ticket's first audit-trail entry (its Opened event): one ``IN (...)`` read
of both, joined, with the database picking the few values out of the JSON text (SQLite
``json_extract``, PostgreSQL ``->>``), in the page's own transaction when it is given. What does
change (level, agent, version) is in the ticket's own detail.
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


def _value(dialect: str, column: str, key: str) -> str:
    if dialect == "sqlite":
        return f"json_extract({column}, '$.{key}')"
    return f"(CAST({column} AS json) ->> '{key}')"


def _statement(dialect: str, ticket_ids: Sequence[str]) -> Statement:
    picked = ", ".join(_value(dialect, "f.facts", key) for key in FROM_FACTS)
    return (f"SELECT f.ticket_id, {picked}, {_value(dialect, 'a.payload', 'title')} "
            "FROM dashboard_facts f LEFT JOIN audit_trail a ON a.ticket_id = f.ticket_id AND a.version = 1 "
            f"WHERE f.ticket_id IN ({','.join('?' * len(ticket_ids))})", ticket_ids)


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
            if extra.get("number") is not None and extra.get("title") is not None:
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
