"""Command receipts: a command with its own id is applied once, however often it is delivered.

A receipt is a one-event aggregate whose id is ``uuid5`` of the command id, saved in the same
atomic write as the ticket's new events. A second delivery finds the receipt and gets the first
answer back; two deliveries at once both try to create the receipt and the store lets one win.
"""

from __future__ import annotations

from functools import lru_cache
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.numbers import NAMESPACE


@lru_cache(maxsize=4_096)
def receipt_id(command_id: str) -> UUID:
    """The receipt's id (memoized: a command looks for its receipt, then creates it)."""
    return uuid5(NAMESPACE, f"command/{command_id}")


class CommandReceipt(Aggregate):
    class Issued(Aggregate.Created):
        command_id: str
        ticket_id: UUID
        number: str
        version: int

    @staticmethod
    def create_id(command_id: str) -> UUID:
        return receipt_id(command_id)

    @event(Issued)
    def __init__(self, command_id: str, ticket_id: UUID, number: str, version: int) -> None:
        self.command_id = command_id
        self.ticket_id = ticket_id
        self.number = number
        self.ticket_version = version
