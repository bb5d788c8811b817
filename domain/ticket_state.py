"""A ticket's whole state as one frozen value, evolved by one function.

``TicketState`` is what the ``Ticket`` aggregate holds: its ``TicketFacts`` (folded by
``domain.facts.fold``, the one definition of what every event does to a ticket, the same fold the
SLA clock and the projections run) and its ``Opening``, what the ``Opened`` event fixed about who
asked and how (requester, title, fields, channel), which no later event changes. ``evolve`` takes
the same ``HistoryEntry`` that ``TicketDesk.history`` and the wire envelope carry, so the
aggregate's facts are ``fold_all(history)`` by construction.

The opening stays out of ``TicketFacts`` because projections store the facts and must not hold
personal data (requester, contact fields).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

from tickets.domain.facts import FoldError, TicketFacts, fold
from tickets.domain.frozen import Blueprint
from tickets.domain.history import HistoryEntry, entry_of


@dataclass(frozen=True)
class Opening:
    """What ``Opened`` records about who asked and how; nothing later changes it."""

    requester: str
    requester_role: str
    title: str
    fields: Mapping[str, str]  # read-only
    channel: str


@dataclass(frozen=True)
class TicketState:
    facts: TicketFacts
    opening: Opening


_OPENING = Blueprint(Opening)
_STATE = Blueprint(TicketState)


def evolve(state: TicketState | None, entry: HistoryEntry) -> TicketState:
    """The state after ``entry``: its facts folded by ``fold``, its opening kept from ``Opened``.

    Raises ``FoldError`` as ``fold`` does (first event not ``Opened``, a gap in versions, an
    unknown event type).
    """
    if state is None:
        return _STATE.build(facts=fold(None, entry), opening=opening_of(entry))
    new = object.__new__(TicketState)  # the two fields set at once: every event passes here
    new.__dict__.update(facts=fold(state.facts, entry), opening=state.opening)
    return new


def opening_of(entry: HistoryEntry) -> Opening:
    if entry.type != "Opened":
        raise FoldError(f"the first event must be Opened, not {entry.type}", "first_is_opened")
    p = entry.payload
    return _OPENING.build(
        requester=p["requester"], requester_role=p["requester_role"], title=p["title"],
        fields=MappingProxyType(dict(p["fields"])), channel=entry.channel,
    )


def record(held: dict[str, Any], domain_event: object) -> None:
    """Note that the aggregate whose attributes are ``held`` applied ``domain_event``; its state is
    folded when next read (``FoldOnRead``)."""
    if "_state" in held:  # folded up to here: what follows is folded from this state
        held["_folded"] = held.pop("_state")
        held["_unfolded"] = [domain_event]
    elif "_unfolded" in held:
        held["_unfolded"].append(domain_event)
    else:  # the first event
        held["_folded"] = None
        held["_unfolded"] = [domain_event]


class FoldOnRead:
    """The aggregate's ``_state``: ``evolve`` over the entries of the events it applied, folded
    when the state is first read after them, once.

    Applying an event only records it (``record``). The first read folds what was recorded since
    the last one and keeps the result on the aggregate, where later reads find it directly (this
    descriptor has no ``__set__``, so the aggregate's own ``_state`` hides it). The desk reads
    the state before it saves a command's event (``application.desk.folded``), so an event the
    evolve refuses is never stored; a replayed or fast-forwarded ticket folds each of its events
    once, when first read. The state read is always
    ``evolve`` over every event applied, in order: only the moment of the fold moves.
    """

    def __get__(self, ticket: Any, owner: Any = None) -> TicketState:
        if ticket is None:
            raise AttributeError("_state is read from a ticket, not its class")
        held = ticket.__dict__
        state: TicketState | None = held["_folded"]
        for domain_event in held["_unfolded"]:
            state = evolve(state, entry_of(domain_event))
        if state is None:
            raise FoldError("a ticket's history cannot be empty", "not_empty")
        held["_state"] = state
        del held["_folded"], held["_unfolded"]
        return state


class TicketStateViews:
    """The ``Ticket`` aggregate's attributes, read-only views of its one ``TicketState``."""

    _state = FoldOnRead()

    @property
    def state(self) -> TicketState:
        return self._state

    @property
    def facts(self) -> TicketFacts:
        """What the SLA clock and the projections read: ``fold_all`` of the ticket's history."""
        return self._state.facts

    @property
    def number(self) -> str:
        return self._state.facts.number

    @property
    def desk(self) -> str:
        return self._state.facts.desk

    @property
    def policy_version(self) -> int:
        return self._state.facts.policy_version

    @property
    def plan(self) -> str:
        return self._state.facts.plan

    @property
    def category(self) -> str:
        return self._state.facts.category

    @property
    def severity(self) -> str:
        return self._state.facts.severity

    @property
    def status(self) -> str:
        return self._state.facts.status

    @property
    def level(self) -> str:
        return self._state.facts.level

    @property
    def agent(self) -> str | None:
        return self._state.facts.agent

    @property
    def opened_at(self) -> datetime:
        return self._state.facts.opened_at

    @property
    def last_occurred_at(self) -> datetime:
        return self._state.facts.last_occurred_at

    @property
    def first_response_at(self) -> datetime | None:
        return self._state.facts.first_response_at

    @property
    def pending_info_since(self) -> datetime | None:
        return self._state.facts.pending_since

    @property
    def auto_close_warned_at(self) -> datetime | None:
        return self._state.facts.warned_at

    @property
    def closed_at(self) -> datetime | None:
        return self._state.facts.closed_at

    @property
    def close_reason(self) -> str | None:
        return self._state.facts.close_reason

    @property
    def escalated_for(self) -> tuple[str, ...]:
        return self._state.facts.escalated_for

    @property
    def requester(self) -> str:
        return self._state.opening.requester

    @property
    def requester_role(self) -> str:
        return self._state.opening.requester_role

    @property
    def title(self) -> str:
        return self._state.opening.title

    @property
    def fields(self) -> Mapping[str, str]:
        return self._state.opening.fields

    @property
    def channel(self) -> str:
        return self._state.opening.channel
