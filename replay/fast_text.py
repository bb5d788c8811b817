"""Texts a rebuild writes for every ticket, made the cheap way: times in wire form, facts as JSON.

``projections.envelope.format_time`` and ``projections.facts_state.dump_facts`` are the definitions;
these give the same text (tests hold them equal on every ticket of a generated week) without
``format_time``'s ``replace`` and ``timespec`` (the dearest part of writing a ticket's facts) and
with the JSON encoder made once.
"""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import UTC, datetime
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

from tickets.domain.facts import TicketFacts
from tickets.projections.envelope import format_time, iso_wire_time
from tickets.projections.facts_state import dump_facts

#: Wire texts of the times a rebuild has read (``replay.log_source`` notes each event's time as it
#: parses it): a ticket's facts hold the times of its events, so most are found here. Equal times
#: have equal texts; emptied when full.
TEXTS: dict[datetime, str] = {}
LIMIT = 1 << 20


def time_text(value: datetime) -> str:
    """``format_time(value)``."""
    text = TEXTS.get(value)
    if text is not None:
        return text
    if value.tzinfo is UTC:
        return iso_wire_time(value.isoformat())
    return format_time(value)


def _opt(value: datetime | None) -> str | None:
    return None if value is None else time_text(value)


#: ``projections.facts_state._ENCODE`` (``separators=(",", ":")``, ASCII), made once.
_ENCODE: Any = (
    None if c_make_encoder is None else
    c_make_encoder(None, json.JSONEncoder().default, encode_basestring_ascii, None, ":", ",", False,
                   False, True)
)


#: The fields ``facts_text`` writes; should ``TicketFacts`` change, ``dump_facts`` takes over.
_SAME_FIELDS = tuple(sorted(f.name for f in fields(TicketFacts))) == (
    "agent", "category", "close_reason", "closed_at", "closed_spans", "complaint", "desk",
    "escalated_for", "first_response_at", "info_pauses", "last_agent_reply_at", "last_occurred_at",
    "level", "number", "opened_at", "pending_since", "plan", "policy_version", "requester_role",
    "severity", "severity_changes", "status", "ticket_id", "version", "warned_at",
)


def facts_text(facts: TicketFacts) -> str:
    """``projections.facts_state.dump_facts(facts)``: the keys in the same (sorted) order."""
    if _ENCODE is None or not _SAME_FIELDS:
        return dump_facts(facts)
    f = facts
    raw = {
        "agent": f.agent, "category": f.category, "close_reason": f.close_reason,
        "closed_at": _opt(f.closed_at),
        "closed_spans": [[time_text(start), _opt(end)] for start, end in f.closed_spans],
        "complaint": f.complaint, "desk": f.desk, "escalated_for": list(f.escalated_for),
        "first_response_at": _opt(f.first_response_at),
        "info_pauses": [[time_text(start), _opt(end)] for start, end in f.info_pauses],
        "last_agent_reply_at": _opt(f.last_agent_reply_at),
        "last_occurred_at": time_text(f.last_occurred_at), "level": f.level, "number": f.number,
        "opened_at": time_text(f.opened_at), "pending_since": _opt(f.pending_since),
        "plan": f.plan, "policy_version": f.policy_version, "requester_role": f.requester_role,
        "severity": f.severity,
        "severity_changes": [[time_text(when), severity, reason]
                             for when, severity, reason in f.severity_changes],
        "status": f.status, "ticket_id": str(f.ticket_id), "version": f.version,
        "warned_at": _opt(f.warned_at),
    }
    return "".join(_ENCODE(raw, 0))
