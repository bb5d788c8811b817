"""Apply a batch of intake commands to the desk and answer each; no Kafka here.

The batch is first applied staged (``consumers.staging``): every command against the desk, all
their events written in one transaction. When the store refuses that write, or a command breaks
in an unexpected way, nothing of the batch was written: its commands are applied again one at a
time, each its own transaction, exactly as the HTTP API applies them. Either way each command is
applied once: receipts answer a command seen before with its first answer.

Each command is applied within its service's desks (``Command.desks``): a new ticket on another
desk is answered rejected naming ``desk`` (``desk_in_scope``), another desk's ticket as one that
does not exist (``ticket``, ``known_ticket``).

Errors: a ``TicketError`` is an answer (rejected, field and rule). A store that is unreachable
(``PersistenceError``) is raised to the caller, who retries the batch later. Anything else is a
fault this command triggers: it is answered rejected with rule ``internal_error`` and kept on the
dead-letter topic, so that one bad command never stops the intake.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from eventsourcing.persistence import IntegrityError, PersistenceError

from tickets.application.commands import Answer, execute, receipt_key
from tickets.consumers.intake_messages import Command
from tickets.consumers.staging import StagingDesk
from tickets.domain.errors import TicketError

log = structlog.get_logger("tickets.intake")

#: A command that lost a race with another writer (no ``expected_version`` given) is tried again.
RACE_ATTEMPTS = 3


@dataclass(frozen=True)
class Applied:
    command: Command
    answer: Answer
    #: Why the command is also kept on the dead-letter topic (an unexpected fault), if it is.
    dead_letter_reason: str | None = None


def apply_commands(desk: StagingDesk, commands: Sequence[Command]) -> list[Applied]:
    """Apply the commands in order; return one ``Applied`` per command, in the same order.

    A batch of one is staged too: one notification-log read and one write, where the desk's own
    path reads the ticket and the receipt from the store and writes in two round trips.
    """
    if commands:
        try:
            return _staged(desk, commands)
        except IntegrityError:
            log.info("intake_batch_retried_one_by_one", commands=len(commands),
                     reason="store_refused_batch")
        except PersistenceError:
            raise
        except Exception as error:  # a fault in one command: find it by going one at a time
            log.warning("intake_batch_retried_one_by_one", commands=len(commands),
                        reason=type(error).__name__)
    return [apply_one(desk, command) for command in commands]


def _staged(desk: StagingDesk, commands: Sequence[Command]) -> list[Applied]:
    with desk.staging():
        answers = [execute(desk, c.message, c.identity, c.desks) for c in commands]
    return [Applied(c, _recheck(desk, c, a)) for c, a in zip(commands, answers, strict=True)]


def _recheck(desk: StagingDesk, command: Command, answer: Answer) -> Answer:
    """A refused command may have been applied before: then its first answer is the answer.

    Unless the sender used the command id before for a different command: that stays refused.
    """
    if answer.accepted or (answer.error or {}).get("rule") == "command_id_reused":
        return answer
    try:
        seen = desk.stored_receipt(receipt_key(command.message, command.identity))
    except TicketError as error:
        return Answer(answer.command_id, False, error=error.as_dict() | {"message": str(error)})
    if seen is None or not command.desks.covers_number(seen.number, desk.catalogue):
        return answer
    return Answer(answer.command_id, True, str(seen.ticket_id), seen.number, seen.version,
                  duplicate=True)


def lost_race(answer: Answer) -> bool:
    error = answer.error or {}
    return (not answer.accepted and error.get("rule") == "optimistic_concurrency"
            and error.get("field") == "version")


def apply_one(desk: StagingDesk, command: Command) -> Applied:
    """Apply one command in its own transaction (retrying a lost race a few times)."""
    try:
        for _attempt in range(RACE_ATTEMPTS):
            answer = execute(desk, command.message, command.identity, command.desks)
            if not lost_race(answer):
                break
        return Applied(command, answer)
    except PersistenceError:
        raise
    except Exception as error:  # the message's values stay out of the log; the record is kept
        log.error("intake_command_failed", command_id=command.command_id,
                  partition=command.record.partition, offset=command.record.offset,
                  error=type(error).__name__)
        reason = f"internal error: {type(error).__name__}"
        answer = Answer(command.command_id, False, error={
            "error": "internal", "message": "the command could not be applied; it was kept for "
            "the operators", "field": None, "rule": "internal_error", "ticket": None})
        return Applied(command, answer, dead_letter_reason=reason)
