"""Erasure of a data subject's personal data: destroy the key, then record that it happened.

Two steps, in this order, each durable before the next: the key table destroys the key and notes
who asked (``KeyTable.begin_erasure``), then the event store records ``PersonalDataErased``, then
the note goes. A crash between them leaves a note without its event; ``complete_pending`` (run by
the next erasure, by the engine at start and by the scheduler's rounds) records the event and
removes the note. Recording twice is impossible: the event names the key it destroyed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import structlog
from eventsourcing.persistence import IntegrityError

from tickets.application.desk import TicketDesk
from tickets.domain.actor import Actor
from tickets.domain.erasure import new_erasure
from tickets.domain.errors import LifecycleError, TicketNotFoundError, ValidationError
from tickets.privacy.keys import KeyTable, PendingErasure

log = structlog.get_logger("tickets.privacy")
_ASKED_BY = re.compile(r"[a-z]{1,20}:[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}")
MAX_BASIS = 500


@dataclass(frozen=True)
class Erased:
    requester: str
    key_id: str
    at: datetime
    asked_by: str
    basis: str
    completed: bool = False  # True: this run completed an erasure a crash had interrupted

    def as_json(self) -> dict[str, object]:
        return {"requester": self.requester, "erased_at": self.at.isoformat(),
                "asked_by": self.asked_by, "basis": self.basis, "key_id": self.key_id,
                "completed_interrupted_erasure": self.completed}


def check_request(requester: str, asked_by: str, basis: str) -> None:
    Actor("customer", requester)  # a requester id's shape
    if not _ASKED_BY.fullmatch(asked_by):
        raise ValidationError("asked_by must be role:id (e.g. auditor:dpo-1 or customer:c-42)",
                              field="asked_by", rule="actor_format")
    if not basis.strip():
        raise ValidationError("say on which basis the data is erased (e.g. 'GDPR art. 17 request "
                              "of 2026-11-20')", field="basis", rule="required")
    if len(basis) > MAX_BASIS:
        raise ValidationError(f"the basis is {len(basis)} characters; at most {MAX_BASIS}",
                              field="basis", rule="max_length")


def erase(desk: TicketDesk, keys: KeyTable, requester: str, *, asked_by: str,
          basis: str) -> Erased:
    """Erase the requester's personal data; refused clearly when there is none to erase."""
    check_request(requester, asked_by, basis)
    interrupted = complete_pending(desk, keys, requester)
    if interrupted:
        return interrupted[0]
    at = desk.clock.now()
    key_id = keys.begin_erasure(requester, asked_by, basis, at)
    if key_id is None:
        found = desk.erasure(requester)
        if found is not None and found.last_erased_at is not None:
            raise LifecycleError(
                f"requester {requester}'s personal data was already erased at "
                f"{found.last_erased_at.isoformat()}; nothing of theirs is left to erase",
                field="requester", rule="already_erased")
        raise TicketNotFoundError(
            f"no personal data is held for requester {requester}", field="requester",
            rule="known_requester")
    return _record(desk, keys, PendingErasure(requester, key_id, asked_by, basis, at))


def complete_pending(desk: TicketDesk, keys: KeyTable, subject: str | None = None) -> list[Erased]:
    """Record the event of every erasure whose key is destroyed and whose event is missing."""
    return [_record(desk, keys, pending, completed=True) for pending in keys.pending(subject)]


def _record(desk: TicketDesk, keys: KeyTable, pending: PendingErasure, *,
            completed: bool = False) -> Erased:
    for _attempt in range(5):
        erasure = desk.erasure(pending.subject) or new_erasure(pending.subject, pending.at)
        if erasure.erased(pending.key_id):
            break
        erasure.record(occurred_at=pending.at, key_id=pending.key_id, asked_by=pending.asked_by,
                       basis=pending.basis)
        try:
            desk.save(erasure)
        except IntegrityError:
            continue  # recorded at the same moment by another process: look again
        break
    keys.finish_erasure(pending.subject)
    log.info("personal_data_erased", key_id=pending.key_id, completed=completed)
    return Erased(pending.subject, pending.key_id, pending.at, pending.asked_by, pending.basis,
                  completed)
