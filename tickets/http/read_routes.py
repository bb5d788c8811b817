"""The read API: tickets (list, one with its SLA timeline), escalation queues, dashboard figures.

Every route shows the caller's desks only (``Caller.desks``): another desk's ticket is not found,
exactly as a ticket that does not exist. Lists and figures come from the read models; one
ticket's detail loads its history from the event store, since its explained SLA timeline is
computed from every event (``TicketDesk.sla``). Every response carries an ETag (see
``positions``) and answers 304 to a matching ``If-None-Match``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from tickets.http.auth import Caller, require
from tickets.http.context import context_of
from tickets.http.positions import conditional
from tickets.http.query_values import to_json
from tickets.http.roles import Permission
from tickets.http.steps import run_steps
from tickets.http.ticket_detail import ticket_detail
from tickets.http.ticket_list import page_reads
from tickets.http.ticket_page import LIMIT, MAX_LENGTH, MAX_VALUES, page_body_steps, ticket_query
from tickets.output import iso
from tickets.projections.dashboard import figures_cached
from tickets.projections.escalation_queues import queues

router = APIRouter(prefix="/api", tags=["read"])
Reader = Annotated[Caller, Depends(require(Permission.READ))]
Values = Annotated[list[str] | None, Query(max_length=MAX_VALUES)]


@router.get("/tickets", summary="Tickets, filtered, most urgent first, a page at a time")
async def list_route(
    request: Request, caller: Reader, desk: Values = None, status: Values = None,
    severity: Values = None, sla_state: Values = None,
    due_before: Annotated[str | None, Query(max_length=MAX_LENGTH["due_before"])] = None,
    limit: Annotated[int, Query(ge=LIMIT[0], le=LIMIT[1])] = LIMIT[2],
    after: Annotated[str | None, Query(max_length=MAX_LENGTH["after"])] = None,
) -> Response:
    """Filters repeat or take commas (``status=new,open``); ``after`` is the previous page's ``next``."""
    ctx = context_of(request)
    query = ticket_query(ctx, caller.desks, desk, status, severity, sla_state, due_before, limit, after)
    personal = caller.may(Permission.PERSONAL)

    def build(position: int, now: datetime) -> bytes:
        with page_reads(ctx.store) as tx:
            return run_steps(tx, page_body_steps(ctx, tx.dialect, query, personal, position, now))

    return await conditional(request, caller.view, build)


@router.get("/tickets/{ref}", summary="One ticket by number or id, with its SLA timeline explained")
async def ticket_route(request: Request, caller: Reader, ref: str) -> Response:
    ctx = context_of(request)

    def build(position: int, now: datetime) -> bytes:
        detail = ticket_detail(ctx.desk, ref, now, caller.may(Permission.PERSONAL), caller.desks)
        return to_json({**detail, "position": position})

    return await conditional(request, caller.view, build)


@router.get("/queues", summary="Escalation queues per level, earliest deadline first")
async def queues_route(
    request: Request, caller: Reader, limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Response:
    ctx = context_of(request)

    def build(position: int, now: datetime) -> bytes:
        levels = queues(ctx.store, now, limit_per_level=limit, desks=caller.desks.desks)
        return to_json({"as_of": iso(now), "position": position, "levels": {
            level: [{"id": e.ticket_id, "number": e.number, "desk": e.desk, "severity": e.severity,
                     "level": e.level, "kind": e.kind, "due": iso(e.due),
                     "at_risk_at": iso(e.at_risk_at), "state": e.state, "reason": e.reason}
                    for e in entries]
            for level, entries in levels.items()
        }})

    return await conditional(request, caller.view, build)


@router.get("/dashboard", summary="Open tickets, SLA states and first-response percentiles")
async def dashboard_route(request: Request, caller: Reader) -> Response:
    """Counted as of the start of the current minute, once per read-model change or minute.

    Every figure is per desk, so the caller's desks are those figures of the whole, as counted.
    """
    ctx = context_of(request)

    def build(position: int, now: datetime) -> bytes:
        figures = figures_cached(ctx.store, now, position)
        mine = caller.desks.covers
        return to_json({
            "as_of": iso(figures.as_of), "position": position,
            "open": [o._asdict() for o in figures.open_by_desk_severity_status if mine(o.desk)],
            "sla": [s._asdict() for s in figures.sla if mine(s.desk)],
            "first_response": [f._asdict() for f in figures.first_response if mine(f.desk)],
        })

    return await conditional(request, caller.view, build)
