"""The envelope's documented schema (docs/envelope.md) as data, and the one check every decoder runs.

A record that decodes as msgpack but breaks a rule of the schema (a null ``ticket_number``, an
integer ``actor``, an unknown desk, a payload field of the wrong type, ...) must never reach a
projection: it would crash the projection on every restart. ``checked`` refuses it with an
``EnvelopeError`` naming the field and the rule, and the consumer dead-letters it.

Text a projection may keep in a column may not hold the NUL character (U+0000): PostgreSQL's text
cannot store it, so the projection would fail on every restart. Free text (a title, the
desk-specific fields) travels only inside the payload's JSON, where NUL is written ``\\u0000``. The
checks are cheap on purpose (they run for every consumed event): type tests, fixed-shape text
tests, and memoized parsing of the values that recur (ids, times, actors).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any
from uuid import UUID

from tickets.domain.actor import CHANNELS, Actor
from tickets.domain.errors import ValidationError

SCHEMA = 1
_HEX64 = re.compile(r"[0-9a-f]{64}")
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class EnvelopeError(ValueError):
    """Bytes that are not a valid envelope; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@lru_cache(maxsize=1 << 16)
def parse_time(text: str) -> datetime:
    """The inverse of ``format_time``; refuses any other shape (it is a wire format)."""
    if len(text) != 27 or text[-1] != "Z" or text[10] != "T" or text[19] != "." or not text.isascii():
        raise ValueError(f"time {text!r} is not YYYY-MM-DDTHH:MM:SS.ffffffZ")
    return datetime.fromisoformat(text)


# ---- the kinds of value, each a test that says yes or no ---------------------------------------


def _text(value: Any) -> bool:
    return type(value) is str and "\x00" not in value


def _some_text(value: Any) -> bool:
    return type(value) is str and value != "" and "\x00" not in value


def _int(value: Any) -> bool:
    return type(value) is int


def _time(value: Any) -> bool:
    if type(value) is not str:
        return False
    try:
        parse_time(value)
    except ValueError:
        return False
    return True


def _time_or_nil(value: Any) -> bool:
    return value is None or _time(value)


def _text_or_nil(value: Any) -> bool:
    return value is None or _text(value)


def _free_text(value: Any) -> bool:
    return type(value) is str


def _text_map(value: Any) -> bool:
    return type(value) is dict and all(type(k) is str and type(v) is str for k, v in value.items())


#: How deep maps and lists may nest in a payload (today's payloads nest 2 deep).
MAX_DEPTH = 16
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _plain(value: Any, depth: int = 1) -> bool:
    """Only what canonical JSON can write (the hash covers it): text keys, plain values."""
    if depth > MAX_DEPTH:
        return False
    if type(value) is dict:
        for key, item in value.items():
            if type(key) is not str or (type(item) not in _SCALARS and not _plain(item, depth + 1)):
                return False
        return True
    if type(value) is list:
        return all(type(item) in _SCALARS or _plain(item, depth + 1) for item in value)
    return False


def _hash(value: Any) -> bool:
    return type(value) is str and _HEX64.fullmatch(value) is not None


@lru_cache(maxsize=4096)
def _actor_text(value: str) -> bool:
    try:
        Actor.parse(value)
    except ValidationError:
        return False
    return True


def _actor(value: Any) -> bool:
    return type(value) is str and _actor_text(value)


def _channel(value: Any) -> bool:
    return type(value) is str and value in CHANNELS


Kind = tuple[Callable[[Any], bool], str]
TEXT: Kind = (_text, "a str without NUL")
SOME_TEXT: Kind = (_some_text, "a non-empty str without NUL")
INT: Kind = (_int, "an int")
TIME: Kind = (_time, "a time YYYY-MM-DDTHH:MM:SS.ffffffZ")
TIME_OR_NIL: Kind = (_time_or_nil, "a time YYYY-MM-DDTHH:MM:SS.ffffffZ or nil")
TEXT_OR_NIL: Kind = (_text_or_nil, "a str without NUL or nil")
TEXT_MAP: Kind = (_text_map, "a map of str to str")
#: Free text (a title, a reason typed by a person): it travels only inside the payload's JSON.
FREE_TEXT: Kind = (_free_text, "a str")
HASH: Kind = (_hash, "64 lower-case hex digits")
ACTOR: Kind = (_actor, "role:id with a known role")
CHANNEL: Kind = (_channel, f"one of {', '.join(CHANNELS)}")

#: Each event type's payload fields and their kinds (docs/envelope.md, "Payload per event type").
#: Fields not named here are allowed (additive changes within a schema) and not checked.
PAYLOADS: dict[str, tuple[tuple[str, Kind], ...]] = {
    "Opened": (("number", SOME_TEXT), ("desk", SOME_TEXT), ("policy_version", INT),
               ("plan", TEXT), ("category", TEXT), ("severity", TEXT), ("requester", TEXT),
               ("requester_role", TEXT), ("title", FREE_TEXT), ("fields", TEXT_MAP)),
    "SeveritySet": (("severity", TEXT), ("previous", TEXT), ("reason", TEXT)),
    "Assigned": (("agent", TEXT), ("level", TEXT)),
    "Responded": (),
    "InfoRequested": (("replaces", TIME_OR_NIL),),
    "CustomerReplied": (),
    "Escalated": (("level", TEXT), ("previous", TEXT), ("reason", TEXT), ("target", TEXT_OR_NIL)),
    "AutoCloseWarned": (("closes_at", TIME),),
    "Closed": (("reason", TEXT),),
    "Reopened": (("reason", FREE_TEXT),),
}
#: Payload fields added later: absent from events written before them, checked when present.
OPTIONAL: dict[str, tuple[tuple[str, Kind], ...]] = {
    "Opened": (("level", SOME_TEXT),),
}


def checked(
    values: Mapping[str, Any], desks: Container[str] | None = None,
) -> tuple[UUID, datetime, datetime]:
    """Check every field of an envelope's map against the schema; the id and times, parsed.

    ``desks``, when given, are the desks the consumer's catalogue knows; an envelope of another
    desk is refused. Raises ``EnvelopeError`` naming the first field that breaks its rule.
    """
    schema = values["schema"]
    if type(schema) is not int or schema != SCHEMA:
        raise EnvelopeError(f"unsupported schema {schema!r}; this reader knows {SCHEMA}")
    ticket_id = _ticket_id(values["ticket_id"])
    for name, minimum in (("version", 1), ("position", 0)):
        value = values[name]
        if type(value) is not int or value < minimum:
            raise EnvelopeError(f"{name} must be an int >= {minimum}")
    desk = values["desk"]
    if not _some_text(desk):
        raise EnvelopeError(f"desk must be {SOME_TEXT[1]}")
    if desks is not None and desk not in desks:
        raise EnvelopeError(f"desk {desk[:100]!r} is not a desk of this catalogue")
    if not _some_text(values["ticket_number"]):
        raise EnvelopeError(f"ticket_number must be {SOME_TEXT[1]}")
    if not _time(values["occurred_at"]):
        raise EnvelopeError(f"occurred_at must be {TIME[1]}")
    if not _time(values["recorded_at"]):
        raise EnvelopeError(f"recorded_at must be {TIME[1]}")
    if not _actor(values["actor"]):
        raise EnvelopeError(f"actor must be {ACTOR[1]}")
    if not _channel(values["channel"]):
        raise EnvelopeError(f"channel must be {CHANNEL[1]}")
    if not _hash(values["prev_hash"]):
        raise EnvelopeError(f"prev_hash must be {HASH[1]}")
    if not _hash(values["hash"]):
        raise EnvelopeError(f"hash must be {HASH[1]}")
    _check_payload(values["type"], values["payload"])
    return ticket_id, parse_time(values["occurred_at"]), parse_time(values["recorded_at"])


def _ticket_id(value: Any) -> UUID:
    parsed = _uuid(value) if type(value) is str else None
    if parsed is None:
        raise EnvelopeError("ticket_id must be a canonical lower-case UUID text")
    return parsed


@lru_cache(maxsize=1 << 16)
def _uuid(text: str) -> UUID | None:
    """The UUID of canonical text, else None (memoized: a ticket's id recurs in each of its events)."""
    return UUID(text) if _CANONICAL_UUID.fullmatch(text) is not None else None


def _check_payload(event_type: Any, payload: Any) -> None:
    if type(event_type) is not str:
        raise EnvelopeError("type must be a str")
    fields = PAYLOADS.get(event_type)
    if fields is None:
        raise EnvelopeError(f"type {event_type[:100]!r} is not a known event type")
    if type(payload) is not dict:
        raise EnvelopeError("payload must be a map")
    if not _plain(payload):
        raise EnvelopeError(f"payload must hold only str keys, and str, int, float, bool, nil, lists "
                            f"and maps, at most {MAX_DEPTH} deep ({event_type})")
    for name, (test, rule) in fields:
        if name not in payload:
            raise EnvelopeError(f"payload.{name} is missing ({event_type})")
        if not test(payload[name]):
            raise EnvelopeError(f"payload.{name} must be {rule} ({event_type})")
    for name, (test, rule) in OPTIONAL.get(event_type, ()):
        if name in payload and not test(payload[name]):
            raise EnvelopeError(f"payload.{name} must be {rule} ({event_type})")
