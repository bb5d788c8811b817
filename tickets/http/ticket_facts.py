"""What a listed ticket shows beyond its dashboard row: number, plan, level, agent, times, title.

The number and times come from the dashboard projection's own copy of each ticket's facts
(``dashboard_facts``); the title from the ticket's first audit-trail entry (its Opened event).
One ``IN (...)`` read each for a page of tickets, with the database picking the few values out of
the JSON text (SQLite ``json_extract``, PostgreSQL ``->>``): about half the time of parsing whole
documents in Python, for 50 tickets a page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from consumers.readstore import ReadStore

FROM_FACTS = ("number", "plan", "level", "agent", "opened_at", "last_occurred_at", "version")


def _value(store: ReadStore, column: str, key: str) -> str:
    if store.dialect == "sqlite":
        return f"json_extract({column}, '$.{key}')"
    return f"(CAST({column} AS json) ->> '{key}')"


def _marks(ids: Sequence[str]) -> str:
    return ",".join("?" * len(ids))


def describe(store: ReadStore, ticket_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """ticket id → the extra columns (missing ids map to nothing)."""
    if not ticket_ids:
        return {}
    picked = ", ".join(_value(store, "facts", key) for key in FROM_FACTS)
    described: dict[str, dict[str, Any]] = {}
    for ticket_id, *values in store.read(
        f"SELECT ticket_id, {picked} FROM dashboard_facts WHERE ticket_id IN ({_marks(ticket_ids)})",
        ticket_ids,
    ):
        extra = dict(zip(FROM_FACTS, values, strict=True))
        extra["version"] = None if extra["version"] is None else int(extra["version"])
        described[ticket_id] = extra
    for ticket_id, title in store.read(
        f"SELECT ticket_id, {_value(store, 'payload', 'title')} FROM audit_trail WHERE version = 1 "
        f"AND ticket_id IN ({_marks(ticket_ids)})", ticket_ids,
    ):
        described.setdefault(ticket_id, {})["title"] = title
    return described
