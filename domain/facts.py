"""What each event does to a ticket, stated once: ``fold`` evolves a ticket's ``TicketFacts``.

``fold(facts, entry)`` is the ticket's one evolve function. The ``Ticket`` aggregate's state
(``domain.ticket_state``), ``TicketDesk.facts`` and ``TicketDesk.sla``, the projections and the
rebuild all run it over the same ``HistoryEntry`` values, so they cannot disagree about what
"responded" or "reopened" means. A new event type is one more case in ``_changes``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from tickets.domain.calendar import Pause
from tickets.domain.frozen import Blueprint, replaced
from tickets.domain.history import HistoryEntry


class FoldError(ValueError):
    """The entry cannot follow the facts: unknown type, or a gap in versions."""

    def __init__(self, message: str, rule: str) -> None:
        super().__init__(message)
        self.rule = rule


@dataclass(frozen=True)
class TicketFacts:
    ticket_id: UUID
    number: str
    desk: str
    policy_version: int
    plan: str
    category: str
    severity: str
    status: str
    level: str
    opened_at: datetime
    version: int
    last_occurred_at: datetime
    agent: str | None = None
    first_response_at: datetime | None = None
    last_agent_reply_at: datetime | None = None
    pending_since: datetime | None = None
    warned_at: datetime | None = None
    closed_at: datetime | None = None
    close_reason: str | None = None
    info_pauses: tuple[Pause, ...] = ()
    closed_spans: tuple[Pause, ...] = ()
    severity_changes: tuple[tuple[datetime, str, str], ...] = ()
    escalated_for: tuple[str, ...] = ()  # "reason:target" of rule-fired escalations
    complaint: bool = False
    requester_role: str | None = None  # None: facts stored before the role was kept

    @property
    def pauses(self) -> tuple[Pause, ...]:
        """Every span the resolution clock does not count: waiting on the customer, or closed."""
        return tuple(sorted(self.info_pauses + self.closed_spans, key=lambda p: p[0]))


_FACTS = Blueprint(TicketFacts)


def _end_open_pause(pauses: tuple[Pause, ...], at: datetime) -> tuple[Pause, ...]:
    if pauses and pauses[-1][1] is None:
        return (*pauses[:-1], (pauses[-1][0], at))
    return pauses


def fold(facts: TicketFacts | None, entry: HistoryEntry) -> TicketFacts:
    if facts is None:
        if entry.type != "Opened":
            raise FoldError(f"the first event must be Opened, not {entry.type}", "first_is_opened")
        p = entry.payload
        return _FACTS.build(
            ticket_id=entry.ticket_id, number=p["number"], desk=p["desk"],
            policy_version=int(p["policy_version"]), plan=p["plan"], category=p["category"],
            severity=p["severity"], status="new", level=p.get("level", "front_line"),
            requester_role=p.get("requester_role"),
            opened_at=entry.occurred_at, version=entry.version,
            last_occurred_at=entry.occurred_at,
            severity_changes=((entry.occurred_at, p["severity"], "opened"),),
        )
    if entry.version != facts.version + 1:
        raise FoldError(
            f"version {entry.version} does not follow {facts.version}", "versions_in_order"
        )
    at = entry.occurred_at
    changes = _changes(facts, entry.type, at, entry.payload)
    if changes is None:
        raise FoldError(f"unknown event type {entry.type!r}", "known_event_type")
    changes["version"] = entry.version
    changes["last_occurred_at"] = at
    return replaced(facts, changes)


def _changes(
    f: TicketFacts, kind: str, at: datetime, p: Mapping[str, Any]
) -> dict[str, Any] | None:
    """What one event changes in the facts; ``None`` for a type the fold does not know."""
    match kind:
        case "SeveritySet":
            return {"severity": p["severity"],
                    "severity_changes": (*f.severity_changes, (at, p["severity"], p["reason"]))}
        case "Assigned":
            return {"agent": p["agent"], "level": p["level"], "status": _opened(f.status)}
        case "Responded":
            return {"first_response_at": f.first_response_at or at, "last_agent_reply_at": at,
                    "status": _opened(f.status)}
        case "InfoRequested":
            pauses = f.info_pauses if f.pending_since is not None else (*f.info_pauses, (at, None))
            return {"first_response_at": f.first_response_at or at, "last_agent_reply_at": at,
                    "pending_since": at, "warned_at": None, "status": "action_needed",
                    "info_pauses": pauses}
        case "CustomerReplied":
            return {"pending_since": None, "warned_at": None,
                    "status": "open" if f.status == "action_needed" else f.status,
                    "info_pauses": _end_open_pause(f.info_pauses, at)}
        case "Escalated":
            fired = f.escalated_for
            if p.get("target"):
                fired = (*fired, f"{p['reason']}:{p['target']}")
            return {"level": p["level"], "escalated_for": fired,
                    "complaint": f.complaint or p["reason"] == "complaint"}
        case "AutoCloseWarned":
            return {"warned_at": at}
        case "Closed":
            return {"status": "closed", "closed_at": at, "close_reason": p["reason"],
                    "pending_since": None, "warned_at": None,
                    "info_pauses": _end_open_pause(f.info_pauses, at),
                    "closed_spans": (*f.closed_spans, (at, None))}
        case "Reopened":
            return {"status": "open", "closed_at": None, "close_reason": None,
                    "closed_spans": _end_open_pause(f.closed_spans, at)}
    return None


def _opened(status: str) -> str:
    return "open" if status == "new" else status


def fold_all(entries: Iterable[HistoryEntry]) -> TicketFacts:
    facts: TicketFacts | None = None
    for entry in entries:
        facts = fold(facts, entry)
    if facts is None:
        raise FoldError("a ticket's history cannot be empty", "not_empty")
    return facts
