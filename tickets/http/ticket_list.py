"""The ticket list, read from the dashboard projection's ``dashboard_tickets`` (no aggregate loads).

Order: tickets with a running SLA clock first, earliest due first (``breach_at``, then id); then
every other ticket by id. Both keys are stored columns, so the order is stable while time passes,
and a page is a keyset read after the previous page's last row (the ``after`` cursor), never an
offset. The SLA state is derived at ``now`` from the stored row, as the dashboard figures do it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from consumers.envelope import format_time, parse_time
from consumers.readstore import ReadStore
from domain.errors import ValidationError

SLA_STATES = ("met", "at_risk", "breached", "running", "none")
STATUSES = ("new", "open", "action_needed", "closed")
_COLUMNS = "ticket_id, desk, severity, status, sla_static, risk_at, breach_at"
_STATE_SQL = {  # each takes ``now`` as many times as it has ``?``
    "breached": "(sla_static = 'breached' OR breach_at <= ?)",
    "at_risk": "(risk_at <= ? AND breach_at > ?)",
    "running": "(sla_static = 'running' OR risk_at > ?)",
    "met": "sla_static = 'met'",
    "none": "(sla_static IS NULL AND breach_at IS NULL)",
}


@dataclass(frozen=True)
class TicketQuery:
    desks: Sequence[str] = ()
    statuses: Sequence[str] = ()
    severities: Sequence[str] = ()
    sla_states: Sequence[str] = ()
    due_before: datetime | None = None
    limit: int = 50
    after: str | None = None


@dataclass(frozen=True)
class ListedTicket:
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


def _in(column: str, values: Sequence[str]) -> tuple[str, list[Any]]:
    return f"{column} IN ({','.join('?' * len(values))})", list(values)


def _filters(query: TicketQuery, now: str) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    for column, values in (("desk", query.desks), ("status", query.statuses),
                           ("severity", query.severities)):
        if values:
            sql, more = _in(column, values)
            where.append(sql)
            params += more
    if query.sla_states:
        where.append("(" + " OR ".join(_STATE_SQL[s] for s in query.sla_states) + ")")
        params += [now] * sum(_STATE_SQL[s].count("?") for s in query.sla_states)
    if query.due_before is not None:
        where.append("breach_at < ?")
        params.append(format_time(query.due_before))
    return where, params


def _read(store: ReadStore, where: list[str], params: list[Any], order: str, limit: int
          ) -> list[tuple[Any, ...]]:
    sql = (f"SELECT {_COLUMNS} FROM dashboard_tickets WHERE {' AND '.join(where)} "
           f"ORDER BY {order} LIMIT ?")
    return store.read(sql, (*params, limit))


def list_tickets(store: ReadStore, query: TicketQuery, now: datetime) -> Page:
    at = format_time(now)
    where, params = _filters(query, at)
    phase, after_due, after_id = decode_cursor(query.after) if query.after else (0, "", "")
    rows: list[tuple[Any, ...]] = []
    if phase == 0:
        keyset = ["breach_at IS NOT NULL"]
        keyset_params: list[Any] = []
        if after_id:
            keyset.append("(breach_at > ? OR (breach_at = ? AND ticket_id > ?))")
            keyset_params += [after_due, after_due, after_id]
        rows = _read(store, where + keyset, params + keyset_params, "breach_at, ticket_id",
                     query.limit + 1)
        after_id = ""
    if len(rows) <= query.limit:
        keyset = ["breach_at IS NULL"] + (["ticket_id > ?"] if after_id else [])
        rows += _read(store, where + keyset, params + ([after_id] if after_id else []), "ticket_id",
                      query.limit + 1 - len(rows))
    page = [ListedTicket(t, d, sev, st, sla_state(static, risk, due, at), risk, due)
            for t, d, sev, st, static, risk, due in rows[:query.limit]]
    more = len(rows) > query.limit
    last = page[-1] if page else None
    cursor = None
    if more and last is not None:
        cursor = encode_cursor(0 if last.due is not None else 1, last.due, last.ticket_id)
    return Page(page, cursor)
