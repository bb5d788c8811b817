"""Who did something, and through which channel: ``role:id`` strings in every event."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tickets.domain.errors import ValidationError

ROLES = ("customer", "agent", "service", "system")
CHANNELS = ("web", "chat", "email", "phone", "api", "cli", "intake", "scheduler")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}")


@dataclass(frozen=True)
class Actor:
    """A pseudonymous identity: ``role`` is one of ROLES, ``id`` an opaque identifier (never a name)."""

    role: str
    id: str

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValidationError(
                f"actor role {self.role!r} is not one of {', '.join(ROLES)}",
                field="actor", rule="known_role",
            )
        if not isinstance(self.id, str) or not _ID.fullmatch(self.id):
            raise ValidationError(
                "actor id must be 1-128 characters of letters, digits and ._@+-",
                field="actor", rule="actor_id_format",
            )

    def __str__(self) -> str:
        return f"{self.role}:{self.id}"

    @classmethod
    def parse(cls, text: str) -> Actor:
        role, sep, ident = text.partition(":")
        if not sep:
            raise ValidationError(
                f"actor {text!r} must be written role:id (roles: {', '.join(ROLES)})",
                field="actor", rule="actor_format",
            )
        return cls(role, ident)


SCHEDULER = Actor("system", "scheduler")


def check_channel(channel: str) -> str:
    if channel not in CHANNELS:
        raise ValidationError(
            f"channel {channel!r} is not one of {', '.join(CHANNELS)}",
            field="channel", rule="known_channel",
        )
    return channel
