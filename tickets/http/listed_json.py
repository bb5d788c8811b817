"""A listed ticket's JSON object, built once per row and view, then kept.

A ticket page's body is its tickets' JSON objects in page order, then its cursor, position and
time. One ticket's object depends on nothing but its dashboard row as listed (``ListedTicket``:
the row's values and the SLA state derived at ``now``), its facts (number, title, plan, opening
time: they never change once complete, ``ticket_facts.complete``) and how titles are shown
(the PERSONAL permission and the key generation, which an erasure moves). Its bytes are kept
under exactly those, so a ticket already shown costs a lookup where it cost a dict, three time
texts, a title check and its share of the JSON encoding: about 60 % of a page's Python time at
100,000 tickets (docs/performance.md). Incomplete facts are never kept (the next page reads them
again), and the route's thread and the event loop share the objects under one lock per page.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any
from weakref import WeakKeyDictionary

from tickets.http.query_values import stored_time, to_json
from tickets.http.ticket_facts import complete
from tickets.http.ticket_list import ListedTicket
from tickets.projections.readstore import ReadStore

#: Objects kept per read store (about 300 bytes each; a page has at most 500).
KEPT = 20_000

Key = tuple[ListedTicket, bool, int]
_kept: WeakKeyDictionary[ReadStore, OrderedDict[Key, bytes]] = WeakKeyDictionary()
_lock = threading.Lock()


def listed(ticket: ListedTicket, extra: dict[str, Any], title: Callable[[Any], Any]) -> dict[str, Any]:
    """One listed ticket as the API shows it."""
    return {
        "id": ticket.ticket_id, "number": extra.get("number"), "title": title(extra.get("title")),
        "desk": ticket.desk, "plan": extra.get("plan"), "severity": ticket.severity,
        "status": ticket.status, "sla_state": ticket.sla_state,
        "at_risk_at": stored_time(ticket.at_risk_at), "due": stored_time(ticket.due),
        "opened_at": stored_time(extra.get("opened_at")),
    }


def listed_objects(store: ReadStore, tickets: Sequence[ListedTicket], extra: dict[str, dict[str, Any]],
                   personal: bool, generation: int, title: Callable[[Any], Any]) -> list[bytes]:
    """Each ticket's JSON object (``to_json(listed(...))``), in order: kept ones as kept, the rest
    built now and kept when their facts are complete. ``generation`` is the key generation read
    before ``title`` opens anything, so an object built across an erasure is kept under the
    generation before it, which no later request asks for."""
    keys = [(ticket, personal, generation) for ticket in tickets]
    with _lock:
        kept = _kept.setdefault(store, OrderedDict())
        found = [kept.get(key) for key in keys]
    built: list[tuple[Key, bytes]] = []
    for i, (key, ticket) in enumerate(zip(keys, tickets, strict=True)):
        if found[i] is None:
            facts = extra.get(ticket.ticket_id, {})
            text = found[i] = to_json(listed(ticket, facts, title))
            if complete(facts):
                built.append((key, text))
    if built:
        with _lock:
            for key, text in built:
                kept[key] = text
            while len(kept) > KEPT:
                kept.popitem(last=False)
    return [text for text in found if text is not None]


def forget() -> None:
    """Drop every kept object (tests that hold two ways of building a page equal)."""
    with _lock:
        _kept.clear()
