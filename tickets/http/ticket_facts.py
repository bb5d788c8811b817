"""What a listed ticket shows beyond its dashboard row: number, plan, level, agent, times, title.

The number and times come from the dashboard projection's own copy of each ticket's facts
(``dashboard_facts``); the title from the ticket's first audit-trail entry (its Opened event).
One ``IN (...)`` read each for a page of tickets.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from consumers.readstore import ReadStore

_FROM_FACTS = ("number", "plan", "category", "level", "agent", "opened_at", "last_occurred_at",
               "first_response_at", "closed_at", "version")


def _marks(ids: Sequence[str]) -> str:
    return ",".join("?" * len(ids))


def describe(store: ReadStore, ticket_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """ticket id → the extra columns (missing ids map to nothing)."""
    if not ticket_ids:
        return {}
    described: dict[str, dict[str, Any]] = {}
    for ticket_id, text in store.read(
        f"SELECT ticket_id, facts FROM dashboard_facts WHERE ticket_id IN ({_marks(ticket_ids)})",
        ticket_ids,
    ):
        facts = json.loads(text)
        described[ticket_id] = {name: facts.get(name) for name in _FROM_FACTS}
    for ticket_id, payload in store.read(
        f"SELECT ticket_id, payload FROM audit_trail WHERE version = 1 "
        f"AND ticket_id IN ({_marks(ticket_ids)})", ticket_ids,
    ):
        title = json.loads(payload).get("title")
        described.setdefault(ticket_id, {})["title"] = title if isinstance(title, str) else None
    return described
