"""The read API: tickets (list, one with its SLA timeline), escalation queues, dashboard figures.

Every route shows the caller's desks only (``Caller.desks``): another desk's ticket is not found,
exactly as a ticket that does not exist. Lists and figures come from the read models; one
ticket's detail loads its history from the event store, since its explained SLA timeline is
computed from every event (``TicketDesk.sla``). Every response carries an ETag (see
``positions``) and answers 304 to a matching ``If-None-Match``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from tickets.http.auth import Caller, require
from tickets.http.context import context_of
from tickets.http.masking import title_for
from tickets.http.positions import conditional
from tickets.http.query_values import aware_time, one_of, stored_time, to_json
from tickets.http.roles import Permission
from tickets.http.ticket_detail import ticket_detail
from tickets.http.ticket_facts import describe
from tickets.http.ticket_list import (
    SLA_STATES,
    STATUSES,
    ListedTicket,
    TicketQuery,
    list_tickets,
    page_reads,
)
from tickets.output import iso
from tickets.projections.dashboard import figures_cached
from tickets.projections.escalation_queues import queues

router = APIRouter(prefix="/api", tags=["read"])
Reader = Annotated[Caller, Depends(require(Permission.READ))]
Values = Annotated[list[str] | None, Query(max_length=200)]


def _listed(ticket: ListedTicket, extra: dict[str, Any], title: Callable[[Any], Any]) -> dict[str, Any]:
    return {
        "id": ticket.ticket_id, "number": extra.get("number"), "title": title(extra.get("title")),
        "desk": ticket.desk, "plan": extra.get("plan"), "severity": ticket.severity,
        "status": ticket.status, "sla_state": ticket.sla_state,
        "at_risk_at": stored_time(ticket.at_risk_at), "due": stored_time(ticket.due),
        "opened_at": stored_time(extra.get("opened_at")),
    }


@router.get("/tickets", summary="Tickets, filtered, most urgent first, a page at a time")
async def list_route(
    request: Request, caller: Reader, desk: Values = None, status: Values = None,
    severity: Values = None, sla_state: Values = None,
    due_before: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    after: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:
    """Filters repeat or take commas (``status=new,open``); ``after`` is the previous page's ``next``."""
    ctx = context_of(request)
    query = TicketQuery(
        desks=_desks(request, caller, desk),
        statuses=one_of("status", status, STATUSES),
        severities=one_of("severity", severity, _severities(request, caller)),
        sla_states=one_of("sla_state", sla_state, SLA_STATES),
        due_before=aware_time("due_before", due_before), limit=limit, after=after,
    )

    def build(position: int, now: datetime) -> bytes:
        with page_reads(ctx.store) as tx:
            page = list_tickets(ctx.store, query, now, tx)
            extra = describe(ctx.store, [t.ticket_id for t in page.tickets], tx)
        personal = caller.may(Permission.PERSONAL)

        def title(text: Any) -> Any:  # a desk may mark titles personal: sealed in the read model
            return title_for(text, personal, ctx.desk.personal) if isinstance(text, str) else text
        return to_json({
            "tickets": [_listed(t, extra.get(t.ticket_id, {}), title) for t in page.tickets],
            "next": page.next, "position": position, "as_of": iso(now),
        })

    return await conditional(request, caller.view, build)


def _desks(request: Request, caller: Caller, asked: list[str] | None) -> list[str]:
    """The desks to list: those asked for, each one of the caller's; else all of the caller's.

    A desk outside the caller's is refused as a desk that does not exist would be.
    """
    catalogue = context_of(request).desk.catalogue
    chosen = one_of("desk", asked, caller.desks.within(sorted(d.id for d in catalogue.desks())))
    if chosen or caller.desks.desks is None:
        return chosen
    return sorted(caller.desks.desks)


def _severities(request: Request, caller: Caller) -> list[str]:
    catalogue = context_of(request).desk.catalogue
    return sorted({s for d in catalogue.desks() if caller.desks.covers(d.id)
                   for p in d.plans.values() for s in p.severities})


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
