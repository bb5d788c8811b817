"""What a record on ``tickets.intake`` must be before it reaches the desk: pure, no I/O.

A record carries one command as a msgpack map (the message format of ``domain.commands``) and a
``service`` header naming the sending service. ``read_record`` turns it into a ``Command`` to
apply, or a ``Refusal`` that names the field and the rule, so that the caller can answer it and
keep it on the dead-letter topic.

The ``service`` header is only as trustworthy as the broker's authentication: in production the
broker must authenticate producers (SASL or mTLS) and its ACLs must let each principal write only
with its own name, for instance one intake topic per service or an interceptor that checks the
header against the principal. The engine maps the header to ``Actor("service", name)`` and refuses
names outside the configured services when they are configured (``TICKETS_INTAKE_SERVICES_FILE``);
each service's command then carries its desks, which ``domain.commands.execute`` keeps it to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import msgpack

from tickets.application.commands import MAX_COMMAND_ID, parse
from tickets.domain.actor import Actor
from tickets.domain.errors import ValidationError
from tickets.domain.scope import EVERY_DESK, DeskScope

SERVICE_HEADER = "service"
Headers = list[tuple[str, bytes]]
#: The configured services and their desks; None: any service, on every desk.
Allowed = Mapping[str, DeskScope] | None


@dataclass(frozen=True)
class IntakeRecord:
    """One consumed record, as the pure code needs it (kafka-python's ``ConsumerRecord`` fits)."""

    topic: str
    partition: int
    offset: int
    value: bytes | None
    headers: Headers
    key: bytes | None = None
    timestamp_ms: int | None = None

    @classmethod
    def of(cls, record: Any) -> IntakeRecord:
        """From a kafka-python ``ConsumerRecord``."""
        return cls(record.topic, record.partition, record.offset, record.value,
                   list(record.headers or ()), record.key, record.timestamp)


@dataclass(frozen=True)
class Command:
    """A decoded, well-formed command message and the identity it arrived with."""

    record: IntakeRecord
    message: Mapping[str, Any]
    identity: Actor
    desks: DeskScope = EVERY_DESK  # the sending service's desks

    @property
    def command_id(self) -> str:
        return str(self.message["command_id"])


@dataclass(frozen=True)
class Refusal:
    """A record that is not a well-formed command from a known service."""

    record: IntakeRecord
    field: str
    rule: str
    reason: str
    command_id: str | None = None

    def error(self) -> dict[str, Any]:
        """The ``error`` of the rejected answer, shaped like ``TicketError.as_dict()``."""
        return {"error": "validation", "message": self.reason, "field": self.field,
                "rule": self.rule, "ticket": None}


def answer_key(record: IntakeRecord, command_id: str | None) -> str:
    """The key of a record's answer: its command id, else where it was read (``partition:offset``)."""
    return command_id if command_id else f"{record.partition}:{record.offset}"


def service_of(headers: Headers, allowed: Allowed) -> tuple[Actor, DeskScope]:
    """The sending service's identity from the ``service`` header, and its desks; refused outside
    ``allowed``."""
    values = [value for name, value in headers if name == SERVICE_HEADER]
    if len(values) != 1:
        raise ValidationError("exactly one service header is required", field=SERVICE_HEADER,
                              rule="required")
    try:
        name = values[0].decode("utf-8")
        actor = Actor("service", name)
    except (UnicodeDecodeError, ValidationError):
        raise ValidationError("the service header must be a service id (letters, digits, ._@+-)",
                              field=SERVICE_HEADER, rule="service_id_format") from None
    if allowed is not None and name not in allowed:
        raise ValidationError("this service may not send commands to the intake",
                              field=SERVICE_HEADER, rule="allowed_service")
    return actor, EVERY_DESK if allowed is None else allowed[name]


def _message(value: bytes | None) -> object:
    if value is None:
        raise ValidationError("the record has no value", field="command", rule="msgpack")
    try:
        return msgpack.unpackb(value, raw=False)
    except Exception as error:  # msgpack raises several unrelated types
        raise ValidationError(f"not msgpack: {type(error).__name__}", field="command",
                              rule="msgpack") from None


def read_record(record: IntakeRecord, allowed: Allowed) -> Command | Refusal:
    """Decode and check one intake record; never raises for bad input."""
    message: object = None
    try:
        message = _message(record.value)
        identity, desks = service_of(record.headers, allowed)
        parse(message, identity)
    except ValidationError as error:
        return Refusal(record, error.field or "command", error.rule or "invalid", error.message,
                       _command_id(message))
    return Command(record, cast(Mapping[str, Any], message), identity, desks)  # parse: it is a map


def _command_id(message: object) -> str | None:
    if not isinstance(message, Mapping):
        return None
    command_id = message.get("command_id")
    return command_id if isinstance(command_id, str) and 0 < len(command_id) <= MAX_COMMAND_ID else None
