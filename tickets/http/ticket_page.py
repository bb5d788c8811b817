"""A ticket-list page, from its query values to its JSON body: once, for both ways it is answered.

``GET /api/tickets`` is a FastAPI route (``read_routes.list_route``: validation, OpenAPI, refusals),
and on PostgreSQL the same page is answered before the router, in the event loop
(``fast_reads``), when its query values are plainly valid. Both build the ``TicketQuery`` with
``ticket_query`` and the body with ``page_body_steps`` (run in a thread's ``Tx`` or on the loop's
connection, see ``steps``). ``query_from_text`` reads the query string as the route would and
gives up (None) on anything the route might judge otherwise, so a bad value always reaches the
route and gets its refusal.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from tickets.domain.catalogue import Catalogue
from tickets.domain.errors import ValidationError
from tickets.domain.scope import DeskScope
from tickets.http.context import HttpContext
from tickets.http.listed_json import listed_objects
from tickets.http.masking import title_for
from tickets.http.query_values import aware_time, one_of, to_json
from tickets.http.steps import Steps
from tickets.http.ticket_facts import describe_steps
from tickets.http.ticket_list import (
    SLA_STATES,
    STATUSES,
    TicketQuery,
    decode_cursor,
    page_steps,
)
from tickets.output import iso

#: The route's limits (``read_routes.list_route``): repeated values, and each text's length.
LIST_VALUES = ("desk", "status", "severity", "sla_state")
MAX_VALUES = 200
MAX_LENGTH = {"due_before": 64, "after": 512}
LIMIT = (1, 500, 50)  # least, most, by default
_DIGITS = re.compile(r"[0-9]{1,3}")


@functools.lru_cache(maxsize=256)
def _choices(catalogue: Catalogue, desks: DeskScope) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The desks ``desks`` covers and their severities, each sorted (a catalogue never changes
    once loaded, so each scope's are worked out once)."""
    covered = desks.within(sorted(d.id for d in catalogue.desks()))
    severities = sorted({s for d in catalogue.desks() if desks.covers(d.id)
                         for p in d.plans.values() for s in p.severities})
    return tuple(covered), tuple(severities)


def ticket_query(ctx: HttpContext, desks: DeskScope, desk: Sequence[str] | None,
                 status: Sequence[str] | None, severity: Sequence[str] | None,
                 sla_state: Sequence[str] | None, due_before: str | None, limit: int,
                 after: str | None) -> TicketQuery:
    """The query of a page; a value outside the caller's desks or the catalogue is refused
    (``ValidationError`` naming the field)."""
    covered, severities = _choices(ctx.desk.catalogue, desks)
    asked = one_of("desk", desk, covered)
    chosen = asked if asked or desks.desks is None else sorted(desks.desks)
    return TicketQuery(
        desks=chosen, statuses=one_of("status", status, STATUSES),
        severities=one_of("severity", severity, severities),
        sla_states=one_of("sla_state", sla_state, SLA_STATES),
        due_before=aware_time("due_before", due_before), limit=limit, after=after,
    )


def query_from_text(ctx: HttpContext, desks: DeskScope, text: str) -> TicketQuery | None:
    """The query of ``text`` (a URL's query string) when every value is plainly valid; else None."""
    lists: dict[str, list[str]] = {name: [] for name in LIST_VALUES}
    single: dict[str, str] = {}
    for name, value in parse_qsl(text, keep_blank_values=True):
        if name in lists:
            if len(value) > MAX_VALUES:
                return None
            lists[name].append(value)
        elif name in ("limit", *MAX_LENGTH):
            if name in single or not value or len(value) > MAX_LENGTH.get(name, 3):
                return None
            single[name] = value
    least, most, default = LIMIT
    limit = single.get("limit")
    if limit is not None and not (_DIGITS.fullmatch(limit) and least <= int(limit) <= most):
        return None
    if any(len(values) > MAX_VALUES for values in lists.values()):
        return None
    try:
        if "after" in single:
            decode_cursor(single["after"])
        return ticket_query(ctx, desks, lists["desk"] or None, lists["status"] or None,
                            lists["severity"] or None, lists["sla_state"] or None,
                            single.get("due_before"), int(limit) if limit else default,
                            single.get("after"))
    except ValidationError:
        return None


def page_body_steps(ctx: HttpContext, dialect: str, query: TicketQuery, personal: bool,
                    position: int, now: datetime) -> Steps[bytes]:
    """The page's JSON body, as steps: the page's reads, then its tickets' facts."""
    page = yield from page_steps(dialect, query, now)
    extra = yield from describe_steps(ctx.store, dialect, [t.ticket_id for t in page.tickets])
    generation = ctx.desk.personal.generation()  # before a title is opened: see listed_objects

    def title(text: Any) -> Any:  # a desk may mark titles personal: sealed in the read model
        return title_for(text, personal, ctx.desk.personal) if isinstance(text, str) else text
    objects = listed_objects(ctx.store, page.tickets, extra, personal, generation, title)
    rest = to_json({"next": page.next, "position": position, "as_of": iso(now)})
    # what to_json of the whole page writes: "tickets" first, then the rest's keys
    return b'{"tickets":[' + b",".join(objects) + b"]," + rest[1:]
