"""A projection's own copy of each ticket's ``TicketFacts``, stored as JSON text.

Projections that need the SLA clock keep the facts they folded in a table of their own, so each
rebuilds on its own and none reads another's rows. The facts are the domain's single fold
(``domain.facts.fold``); this module only writes them as text and reads them back.
"""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import UTC, datetime
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any
from uuid import UUID

from tickets.domain.facts import TicketFacts
from tickets.wire.envelope import format_time, iso_wire_time, parse_time

_TIMES = ("opened_at", "last_occurred_at", "first_response_at", "last_agent_reply_at",
          "pending_since", "warned_at", "closed_at")
_SPANS = ("info_pauses", "closed_spans")


_NAMES = tuple(sorted(f.name for f in fields(TicketFacts)))
#: ``json.JSONEncoder(separators=(",", ":")).encode`` (ASCII), its C part made once: the facts are
#: written for every ticket a batch moves, by three projections.
_ENCODE: Any = (
    None if c_make_encoder is None else
    c_make_encoder(None, json.JSONEncoder().default, encode_basestring_ascii, None, ":", ",", False,
                   False, True)
)
#: Wire texts of times already met (a reader notes each event's time as it parses it: a ticket's
#: facts hold the times of its events, so most are found here). Emptied when full: a rebuild's
#: part notes every event's time, and a million of them held about 200 MB; twice a default rebuild
#: batch (``replay.rebuild``) covers the batch being worked out and its tickets' earlier events.
TEXTS: dict[datetime, str] = {}
LIMIT = 1 << 17


#: Canonical texts of ticket ids already met, by the id object's identity (the object kept in the
#: entry, so an id is never read for another object): a ticket's facts keep one id object from
#: fold to fold, and its rows and states write it several times. Emptied when full.
ID_TEXTS: dict[int, tuple[object, str]] = {}
ID_LIMIT = 1 << 16


def id_text(value: UUID) -> str:
    """``str(value)``, looked up first among the ids already met."""
    held = ID_TEXTS.get(id(value))
    if held is not None and held[0] is value:
        return held[1]
    text = str(value)
    if len(ID_TEXTS) >= ID_LIMIT:
        ID_TEXTS.clear()
    ID_TEXTS[id(value)] = (value, text)
    return text


def time_text(value: datetime) -> str:
    """``format_time(value)``, looked up first among the times already met (and noted there: a
    ticket's facts are written again, with the same times, each time the ticket moves)."""
    text = TEXTS.get(value)
    if text is not None:
        return text
    text = iso_wire_time(value.isoformat()) if value.tzinfo is UTC else format_time(value)
    if len(TEXTS) >= LIMIT:
        TEXTS.clear()
    TEXTS[value] = text  # equal times are one instant, whose wire text is one
    return text


def _text(value: datetime | None) -> str | None:
    return None if value is None else time_text(value)


#: The fields ``dump_facts`` spells out; should ``TicketFacts`` gain or lose one, ``_dump_any`` writes
#: them all instead (the same text, field by field).
_SPELLED = _NAMES == (
    "agent", "category", "close_reason", "closed_at", "closed_spans", "complaint", "desk",
    "escalated_for", "first_response_at", "info_pauses", "last_agent_reply_at", "last_occurred_at",
    "level", "number", "opened_at", "pending_since", "plan", "policy_version", "requester_role",
    "severity", "severity_changes", "status", "ticket_id", "version", "warned_at",
)


def _dump_any(facts: TicketFacts) -> str:
    raw = dict(facts.__dict__)
    raw["ticket_id"] = str(facts.ticket_id)
    for name in _TIMES:
        raw[name] = _text(raw[name])
    for name in _SPANS:
        raw[name] = [[time_text(start), _text(end)] for start, end in raw[name]]
    raw["severity_changes"] = [
        [time_text(when), severity, reason] for when, severity, reason in facts.severity_changes
    ]
    raw["escalated_for"] = list(facts.escalated_for)
    return json.dumps({name: raw[name] for name in _NAMES}, separators=(",", ":"))


def dump_facts(facts: TicketFacts) -> str:
    """The facts as canonical JSON text (keys sorted); times in the envelope's fixed ISO format."""
    if _ENCODE is None or not _SPELLED:
        return _dump_any(facts)
    if type(facts.complaint) is bool and type(facts.version) is int \
            and type(facts.policy_version) is int and type(facts.ticket_id) is UUID:
        try:
            return _dump_written(facts)
        except TypeError:  # a text field holding something else: the encoder writes what it holds
            pass
    return _dump_encoded(facts)


_q = encode_basestring_ascii


def _quoted_time(value: datetime | None) -> str:
    return "null" if value is None else f'"{time_text(value)}"'


def _dump_written(f: TicketFacts) -> str:
    """``_dump_encoded``'s text written out directly: a ticket's facts are written each time it
    moves, by three projections, and building the map for the encoder cost most of the writing.
    Text fields go through the encoder's own string function (``TypeError`` for anything but
    text); times are wire texts, which need no escaping."""
    t, qt = time_text, _quoted_time
    spans = ",".join(f'["{t(start)}",{qt(end)}]' for start, end in f.closed_spans)
    pauses = ",".join(f'["{t(start)}",{qt(end)}]' for start, end in f.info_pauses)
    changes = ",".join(f'["{t(when)}",{_q(severity)},{_q(reason)}]'
                       for when, severity, reason in f.severity_changes)
    return (
        f'{{"agent":{"null" if f.agent is None else _q(f.agent)},"category":{_q(f.category)},'
        f'"close_reason":{"null" if f.close_reason is None else _q(f.close_reason)},'
        f'"closed_at":{qt(f.closed_at)},"closed_spans":[{spans}],'
        f'"complaint":{"true" if f.complaint else "false"},"desk":{_q(f.desk)},'
        f'"escalated_for":[{",".join([_q(reason) for reason in f.escalated_for])}],'
        f'"first_response_at":{qt(f.first_response_at)},"info_pauses":[{pauses}],'
        f'"last_agent_reply_at":{qt(f.last_agent_reply_at)},'
        f'"last_occurred_at":"{t(f.last_occurred_at)}","level":{_q(f.level)},'
        f'"number":{_q(f.number)},"opened_at":"{t(f.opened_at)}",'
        f'"pending_since":{qt(f.pending_since)},"plan":{_q(f.plan)},'
        f'"policy_version":{int.__repr__(f.policy_version)},'
        f'"requester_role":{"null" if f.requester_role is None else _q(f.requester_role)},'
        f'"severity":{_q(f.severity)},"severity_changes":[{changes}],"status":{_q(f.status)},'
        f'"ticket_id":"{id_text(f.ticket_id)}","version":{int.__repr__(f.version)},'
        f'"warned_at":{qt(f.warned_at)}}}'
    )


def _dump_encoded(facts: TicketFacts) -> str:
    f = facts
    raw = {
        "agent": f.agent, "category": f.category, "close_reason": f.close_reason,
        "closed_at": _text(f.closed_at),
        "closed_spans": [[time_text(start), _text(end)] for start, end in f.closed_spans],
        "complaint": f.complaint, "desk": f.desk, "escalated_for": list(f.escalated_for),
        "first_response_at": _text(f.first_response_at),
        "info_pauses": [[time_text(start), _text(end)] for start, end in f.info_pauses],
        "last_agent_reply_at": _text(f.last_agent_reply_at),
        "last_occurred_at": time_text(f.last_occurred_at), "level": f.level, "number": f.number,
        "opened_at": time_text(f.opened_at), "pending_since": _text(f.pending_since),
        "plan": f.plan, "policy_version": f.policy_version, "requester_role": f.requester_role,
        "severity": f.severity,
        "severity_changes": [[time_text(when), severity, reason]
                             for when, severity, reason in f.severity_changes],
        "status": f.status, "ticket_id": id_text(f.ticket_id), "version": f.version,
        "warned_at": _text(f.warned_at),
    }
    return "".join(_ENCODE(raw, 0))


def load_facts(text: str) -> TicketFacts:
    raw: dict[str, Any] = json.loads(text)
    values = dict(raw)
    values["ticket_id"] = UUID(raw["ticket_id"])
    for name in _TIMES:
        values[name] = _time(raw[name])
    for name in _SPANS:
        values[name] = tuple((parse_time(start), _time(end)) for start, end in raw[name])
    values["severity_changes"] = tuple(
        (parse_time(when), severity, reason) for when, severity, reason in raw["severity_changes"]
    )
    values["escalated_for"] = tuple(raw["escalated_for"])
    return TicketFacts(**values)


def _time(text: str | None) -> datetime | None:
    return None if text is None else parse_time(text)
