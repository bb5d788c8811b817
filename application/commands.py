"""Commands as messages: what services send over the intake topic or the HTTP write API.

A message is a map with ``command_id`` (the idempotency key), ``type`` and the command's fields.
Each type is a typed dataclass below (``OpenTicket``, ``SetSeverity``, ...); ``HANDLERS`` is the one
table from a type's name to its dataclass and the desk's method that carries it out, and ``FIELDS``
(what the edges and the OpenAPI document check) is read from those dataclasses. ``parse`` checks
every field's presence and type, refuses unknown ones and builds the typed command; ``execute``
applies it to the desk (which holds the clock it was given) under the sender's identity and answers
accepted (ticket id and number) or rejected (field and rule). Both edges use this one module, so
they answer the same way.
"""

from __future__ import annotations

import hashlib
import json
import types
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, fields
from datetime import datetime
from functools import cached_property
from typing import Any, Union, get_args, get_origin, get_type_hints

from tickets.application.desk import CommandResult, TicketDesk
from tickets.domain.actor import Actor
from tickets.domain.errors import TicketError, ValidationError
from tickets.domain.receipts import CommandKey
from tickets.domain.scope import EVERY_DESK, DeskScope
from tickets.domain.times import parse_aware_time

COMMON = {"command_id": str, "type": str, "at": str, "actor": str, "channel": str,
           "expected_version": int}
MAX_COMMAND_ID = 128


# ---- the commands, typed ---------------------------------------------------------------------


@dataclass(frozen=True)
class OpenTicket:
    desk: str
    requester: str
    requester_role: str
    title: str
    fields: dict[str, str] | None = None
    plan: str | None = None
    category: str | None = None
    severity: str | None = None


@dataclass(frozen=True)
class SetSeverity:
    ticket: str
    severity: str
    reason: str


@dataclass(frozen=True)
class Assign:
    ticket: str
    agent: str
    level: str = "front_line"


@dataclass(frozen=True)
class Respond:
    ticket: str


@dataclass(frozen=True)
class RequestInfo:
    ticket: str
    replace: bool = False


@dataclass(frozen=True)
class Reply:
    ticket: str


@dataclass(frozen=True)
class Escalate:
    ticket: str
    reason: str
    level: str | None = None


@dataclass(frozen=True)
class Close:
    ticket: str
    reason: str


@dataclass(frozen=True)
class Reopen:
    ticket: str
    reason: str


CommandBody = (OpenTicket | SetSeverity | Assign | Respond | RequestInfo | Reply | Escalate | Close
               | Reopen)


@dataclass(frozen=True)
class Command:
    command_id: str
    type: str
    actor: Actor
    channel: str
    at: datetime | None
    expected_version: int | None
    #: The command's own fields as the message gave them (what the receipt's digest covers).
    fields: Mapping[str, Any]
    sender: Actor | None = None  # who sent it (authenticated); the command id is theirs
    body: CommandBody | None = None  # the typed command, defaults filled in

    @cached_property
    def key(self) -> CommandKey:
        """The receipt's key: the sender's own id, bound to what the command says."""
        return CommandKey(self.command_id, None if self.sender is None else str(self.sender),
                          digest(self), str(self.actor))


def digest(command: Command) -> str:
    """SHA-256 of the command's canonical form: everything it does, but not its id or sender."""
    canonical = {"type": command.type, "actor": str(command.actor), "channel": command.channel,
                 "at": None if command.at is None else command.at.isoformat(),
                 "expected_version": command.expected_version, "fields": dict(command.fields)}
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class Answer:
    command_id: str | None
    accepted: bool
    ticket_id: str | None = None
    ticket_number: str | None = None
    version: int | None = None
    duplicate: bool = False
    error: Mapping[str, Any] | None = None

    def as_map(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "command_id": self.command_id, "status": "accepted" if self.accepted else "rejected",
        }
        if self.accepted:
            answer.update(ticket_id=self.ticket_id, ticket_number=self.ticket_number,
                          version=self.version, duplicate=self.duplicate)
        else:
            answer["error"] = dict(self.error or {})
        return answer


def _typed(name: str, value: Any, kind: type) -> Any:
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if not ok:
        raise ValidationError(
            f"{name} must be {'an object' if kind is dict else kind.__name__}, "
            f"not {type(value).__name__}", field=name, rule="type",
        )
    return value


def parse(message: object, identity: Actor) -> Command:
    """Validate a command message; ``identity`` is the authenticated sender (a service or agent)."""
    if not isinstance(message, Mapping):
        raise ValidationError("a command must be a map", field="command", rule="type")
    kind = message.get("type")
    if not isinstance(kind, str) or kind not in FIELDS:
        raise ValidationError(
            f"type must be one of {', '.join(FIELDS)}", field="type", rule="known_command"
        )
    own = FIELDS[kind]
    body_class = HANDLERS[kind][0]
    for name in message:
        if name not in COMMON and name not in own:
            raise ValidationError(f"{kind} has no field {name!r}", field=str(name),
                                  rule="unknown_field")
    for name, value in message.items():
        _typed(name, value, COMMON.get(name) or own[name][0])
    for name, (_, required) in own.items():
        if required and name not in message:
            raise ValidationError(f"{name} is required", field=name, rule="required")
    command_id = message.get("command_id")
    if command_id is None or not 0 < len(command_id) <= MAX_COMMAND_ID:
        raise ValidationError(f"command_id is required (1-{MAX_COMMAND_ID} characters)",
                              field="command_id", rule="required")
    if not command_id.isprintable():
        raise ValidationError("command_id must be printable text (no control characters)",
                              field="command_id", rule="printable")
    actor = Actor.parse(message["actor"]) if "actor" in message else identity
    check_may_act_as(identity, actor)
    return Command(
        command_id=command_id, type=kind, actor=actor,
        channel=message.get("channel", "intake"), at=_time(message.get("at")),
        expected_version=message.get("expected_version"),
        fields={k: v for k, v in message.items() if k in own}, sender=identity,
        body=body_class(**{k: v for k, v in message.items() if k in own}),
    )


def check_may_act_as(identity: Actor, actor: Actor) -> None:
    """A sender acts as itself; a service may also act for a requester, and for no one else.

    Nobody from outside is the system (the scheduler's commands never come through here), nor
    may a service speak as an agent or another service.
    """
    if actor == identity and identity.role != "system":
        return
    if actor.role == "system":
        raise ValidationError("no caller may act as the system", field="actor",
                              rule="system_actor")
    if identity.role != "service":
        raise ValidationError("only a service may act for someone else", field="actor",
                              rule="act_for_others")
    if actor.role != "customer":
        raise ValidationError(f"a service may act only for requesters (customer:<id>), not as a "
                              f"{actor.role}", field="actor", rule="act_for_requesters")


def _time(text: str | None) -> datetime | None:
    return None if text is None else parse_aware_time(text, "at")


#: What the desk's method for a command is given besides the command itself.
Common = dict[str, Any]
Handler = Callable[[TicketDesk, Any, Common], CommandResult]

#: The one handler table: each type's name, its typed command, and how the desk carries it out.
HANDLERS: dict[str, tuple[type[Any], Handler]] = {
    "open": (OpenTicket, lambda d, c, k: d.open(
        desk=c.desk, requester=c.requester, requester_role=c.requester_role, title=c.title,
        fields=c.fields, plan=c.plan,
        category=c.category, severity=c.severity, actor=k["actor"], channel=k["channel"],
        at=k["at"], command_id=k["command_id"], desks=k["desks"])),
    "set_severity": (SetSeverity, lambda d, c, k: d.set_severity(c.ticket, c.severity, c.reason, **k)),
    "assign": (Assign, lambda d, c, k: d.assign(c.ticket, c.agent, c.level, **k)),
    "respond": (Respond, lambda d, c, k: d.respond(c.ticket, **k)),
    "request_info": (RequestInfo, lambda d, c, k: d.request_info(c.ticket, replace=c.replace, **k)),
    "reply": (Reply, lambda d, c, k: d.customer_reply(c.ticket, **k)),
    "escalate": (Escalate, lambda d, c, k: d.escalate(c.ticket, c.reason, c.level, **k)),
    "close": (Close, lambda d, c, k: d.close_ticket(c.ticket, c.reason, **k)),
    "reopen": (Reopen, lambda d, c, k: d.reopen(c.ticket, c.reason, **k)),
}


def _wire_type(hint: Any) -> type:
    """The type a message's value must have for a field of this type (``str | None``: a str)."""
    if get_origin(hint) in (Union, types.UnionType):
        hint = next(arg for arg in get_args(hint) if arg is not type(None))
    return get_origin(hint) or hint  # type: ignore[no-any-return]


def _fields_of(body_class: type[Any]) -> dict[str, tuple[type, bool]]:
    hints = get_type_hints(body_class)
    return {f.name: (_wire_type(hints[f.name]), f.default is MISSING and f.default_factory is MISSING)
            for f in fields(body_class)}


#: Each command type: its own fields, the type a message gives each, and whether it is required.
FIELDS: dict[str, dict[str, tuple[type, bool]]] = {
    name: _fields_of(body_class) for name, (body_class, _) in HANDLERS.items()
}


def receipt_key(message: object, identity: Actor) -> CommandKey | None:
    """The receipt key of a command message, or None when the message is not a valid command."""
    try:
        return parse(message, identity).key
    except TicketError:
        return None


def execute(desk: TicketDesk, message: object, identity: Actor, desks: DeskScope = EVERY_DESK
            ) -> Answer:
    """Parse and apply one command message; every refusal becomes a rejected answer.

    ``desks``: the sender's desks. A new ticket on another desk is refused (``desk_in_scope``);
    another desk's ticket is refused exactly as a ticket that does not exist (``known_ticket``).
    """
    command_id = message.get("command_id") if isinstance(message, Mapping) else None
    try:
        command = parse(message, identity)
        common = {"actor": command.actor, "channel": command.channel, "at": command.at,
                  "expected_version": command.expected_version, "command_id": command.key,
                  "desks": desks}
        result = HANDLERS[command.type][1](desk, command.body, common)
    except TicketError as error:
        return Answer(command_id if isinstance(command_id, str) else None, False,
                      error=error.as_dict() | {"message": str(error)})
    return Answer(command.command_id, True, str(result.ticket_id), result.number, result.version,
                  result.duplicate)
