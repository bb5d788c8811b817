"""The library's load and save paths, without its runtime-protocol ``isinstance`` checks.

eventsourcing tells an aggregate from an event with ``isinstance`` against ``typing`` protocols
(``DomainEventProtocol``, ``CollectEventsProtocol``, ``CanMutateProtocol``). On Python 3.11 each
such check recomputes the protocol's members and costs tens of microseconds: two per saved
aggregate and one per event a cached aggregate is fast-forwarded by, together more than the rest
of a command on the in-memory store. Everything ``TicketDesk`` loads and saves is an eventsourcing
``Aggregate`` whose events mutate it, so a plain class check says the same; anything else takes
the library's own path. Only the checks go: the cache, its fast-forward, the recording, snapshots
and notification hooks are the library's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from eventsourcing.application import ProcessingEvent
from eventsourcing.domain import Aggregate


def replay(aggregate: Any, domain_events: Iterable[Any]) -> Any:
    """``eventsourcing.application.project_aggregate`` without its per-event protocol assertion:
    each event mutates the aggregate (``None`` before the first) in turn."""
    for domain_event in domain_events:
        aggregate = domain_event.mutate(aggregate)
    return aggregate


def collected(objs: tuple[object, ...]) -> ProcessingEvent[UUID] | None:
    """The pending events of ``objs``, collected as ``Application.save`` collects them, when every
    one is an ``Aggregate``; ``None`` (take the library's path) otherwise."""
    aggregates = [obj for obj in objs if isinstance(obj, Aggregate)]
    if len(aggregates) != len(objs):
        return None  # checked before any pending event is taken from its aggregate
    processing_event: ProcessingEvent[UUID] = ProcessingEvent()
    for aggregate in aggregates:
        processing_event.events.extend(aggregate.collect_events())
        processing_event.aggregates[aggregate.id] = aggregate
    return processing_event
