"""The audit trail over HTTP, for auditors: one ticket's events in order, with their hash chain.

Only the caller's desks: another desk's ticket answers as a ticket with no trail (404, or an
empty page after ``after``). ``verified`` is checked on the entry as stored, before any masking
(a masked entry could not verify, by design); personal data is then shown or masked by the
caller's role.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from tickets.domain.personal import Opener
from tickets.http.auth import Caller, require
from tickets.http.context import context_of
from tickets.http.masking import entry_for
from tickets.http.positions import conditional
from tickets.http.problems import ApiError
from tickets.http.query_values import to_json
from tickets.http.roles import Permission
from tickets.output import iso
from tickets.projections.audit_trail import AuditEntry, trail
from tickets.wire.envelope import format_time

router = APIRouter(prefix="/api", tags=["audit"])
Auditor = Annotated[Caller, Depends(require(Permission.AUDIT))]


def _entry(entry: AuditEntry, show_personal: bool, opener: Opener) -> dict[str, Any]:
    verified = entry.verifies()
    shown = entry_for(entry, show_personal, opener)
    return {
        "ticket_id": shown.ticket_id, "number": shown.number, "version": shown.version,
        "desk": shown.desk, "type": shown.type, "occurred_at": iso(shown.occurred),
        "recorded_at": iso(shown.recorded), "actor": shown.actor, "channel": shown.channel,
        "payload": shown.payload, "prev_hash": shown.prev_hash, "hash": shown.hash,
        "position": shown.position, "verified": verified, "cursor": shown.cursor,
    }


@router.get("/tickets/{ref}/audit", summary="A ticket's audit trail, by version")
async def audit_route(
    request: Request, caller: Auditor, ref: str,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    after: Annotated[int | None, Query(ge=0, description="the last version of the previous page")] = None,
) -> Response:
    ctx = context_of(request)
    ticket_id = ctx.desk.ticket_id(ref)

    def build(position: int, now: datetime) -> bytes:
        cursor = None if after is None else f"{format_time(now)}|{ticket_id}|{after}"
        entries = trail(ctx.store, ticket_id=ticket_id, after=cursor, limit=limit + 1)
        if entries and not caller.desks.covers(entries[0].desk):
            entries = []  # another desk's ticket: answered as one that has no trail at all
        if not entries and not after:
            raise ApiError(404, "not_found", f"no audit trail for ticket {ref}", field="ticket",
                           rule="known_ticket")
        shown = [_entry(e, caller.may(Permission.PERSONAL), ctx.desk.personal)
                 for e in entries[:limit]]
        more = len(entries) > limit
        return to_json({"ticket_id": str(ticket_id), "position": position, "entries": shown,
                        "next": shown[-1]["version"] if more and shown else None})

    return await conditional(request, caller.view, build)
