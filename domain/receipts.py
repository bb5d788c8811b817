"""Command receipts: a command with its own id is applied once, however often it is delivered.

A receipt is a one-event aggregate saved in the same atomic write as the ticket's new events. A
second delivery finds the receipt and gets the first answer back; two deliveries at once both try
to create the receipt and the store lets one win.

A command id belongs to its sender. A command from the edges (HTTP, the intake topic) carries a
``CommandKey``: the sender (``service:webform``, ``agent:a-7``), its own id, and a digest of the
command's canonical form. Its receipt's id is ``uuid5`` of sender and id, so the same id from
another sender is another command with a receipt of its own, and nobody reads another's answer.
The receipt keeps the digest: the same sender reusing an id for a different command is refused
(``command_id_reused``), never answered with the first command's result.

Receipts written before senders were recorded (class version 1) have the id ``uuid5`` of the
command id alone and no digest; they still load (upcast with ``sender`` and ``digest`` None), and
``TicketDesk.receipt`` still answers a resend from them when the sender is the one recorded on
the ticket's event. A bare string id (in-process callers, which are trusted) keeps that old key.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from tickets.domain.errors import LifecycleError
from tickets.domain.numbers import NAMESPACE


@lru_cache(maxsize=4_096)
def receipt_id(command_id: str, sender: str | None = None) -> UUID:
    """The receipt's id (memoized: a command looks for its receipt, then creates it).

    Sender ids never hold ``/``, so a scoped key can never equal an unscoped one.
    """
    if sender is None:
        return uuid5(NAMESPACE, f"command/{command_id}")
    return uuid5(NAMESPACE, f"sent/{sender}/{command_id}")


@dataclass(frozen=True)
class CommandKey:
    """A command's idempotency key as the edges give it: whose, which, and what it said."""

    command_id: str
    sender: str | None = None  # ``role:id`` of the authenticated sender; None: unscoped
    digest: str | None = None  # of the command's canonical form (``domain.commands.digest``)
    actor: str | None = None  # whom the command is recorded as (the sender or who it acts for)

    @property
    def receipt_id(self) -> UUID:
        return receipt_id(self.command_id, self.sender)


#: What the desk's command methods take as ``command_id``: a key, or a bare id (unscoped).
CommandRef = str | CommandKey


def command_key(ref: CommandRef | None) -> CommandKey | None:
    return CommandKey(ref) if isinstance(ref, str) else ref


class CommandReceipt(Aggregate):
    class Issued(Aggregate.Created):
        class_version = 2
        command_id: str
        ticket_id: UUID
        number: str
        version: int
        sender: str | None
        digest: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1 recorded neither sender nor digest: the id was global."""
            state["sender"] = None
            state["digest"] = None

    @staticmethod
    def create_id(command_id: str, sender: str | None) -> UUID:
        return receipt_id(command_id, sender)

    @event(Issued)
    def __init__(self, command_id: str, ticket_id: UUID, number: str, version: int,
                 sender: str | None, digest: str | None) -> None:
        self.command_id = command_id
        self.ticket_id = ticket_id
        self.number = number
        self.ticket_version = version
        self.sender = sender
        self.digest = digest

    @classmethod
    def issue(cls, key: CommandKey, ticket_id: UUID, number: str, version: int) -> CommandReceipt:
        return cls(command_id=key.command_id, ticket_id=ticket_id, number=number, version=version,
                   sender=key.sender, digest=key.digest)

    def check_same_command(self, key: CommandKey) -> None:
        """Refuse a key whose command differs from the one this receipt answered.

        A receipt without a digest (version 1) cannot tell, and answers as it always did.
        """
        if self.digest is not None and key.digest is not None and self.digest != key.digest:
            raise LifecycleError(
                f"command_id {key.command_id!r} was used before for a different command; "
                "send a new command_id for a new command",
                field="command_id", rule="command_id_reused", ticket=self.number,
            )
