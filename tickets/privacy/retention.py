"""Retention: erase a requester's personal data once every desk they used no longer needs it.

A requester's data goes when each of their tickets is closed and its desk's ``retention`` has
passed since it closed (``domain.retention``); a ticket still open, or on a desk without a
retention period, keeps it. The scheduler runs this now and then (``privacy_round``), and
``tickets privacy retention`` runs it at once. Each erasure is an ordinary one
(``tickets.privacy.erase``), asked by ``system:retention`` on the desk's stated basis.

What a round needs of each ticket is little (``Closing``), and the scheduler keeps it between
rounds (``Closings``): a round reads the log from where the last one stopped and loads only the
tickets with new events, where it would otherwise load every ticket ever opened, every hour.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import structlog

from tickets.application.desk import TicketDesk
from tickets.domain.errors import TicketError
from tickets.domain.ticket import TICKET_TOPICS, Ticket
from tickets.privacy.erase import Erased, complete_pending, erase
from tickets.privacy.keys import KeyTable

log = structlog.get_logger("tickets.privacy")
ASKED_BY = "system:retention"


@dataclass(frozen=True, slots=True)
class Closing:
    """What retention needs of a ticket: whose it is, its desk and policy version, its closing."""

    requester: str
    desk: str
    policy_version: int
    closed_at: datetime | None

    @classmethod
    def of(cls, ticket: Ticket) -> Closing:
        return cls(ticket.requester, ticket.desk, ticket.policy_version, ticket.closed_at)


class Closings:
    """Every ticket's ``Closing``, brought up to date from the log at each round."""

    def __init__(self, desk: TicketDesk) -> None:
        self.desk = desk
        self._position = 0  # the last notification read
        self._held: dict[UUID | str, Closing] = {}

    def now(self) -> Iterable[Closing]:
        """Each ticket's ``Closing`` as it stands now: the tickets with events since the last
        call are loaded again (all of them at the first call), the others are as they were."""
        moved: set[UUID | str] = set()  # as the recorder gives them
        for notification in self.desk.notifications(TICKET_TOPICS, after=self._position):
            moved.add(notification.originator_id)
            self._position = notification.id
        for ticket_id in moved:
            self._held[ticket_id] = Closing.of(self.desk.get(ticket_id))
        return self._held.values()


def _due(desk: TicketDesk, ticket: Closing) -> tuple[datetime, str] | None:
    """When the ticket stops needing its requester's personal data, and the desk's rule (None:
    not known yet, or never by itself)."""
    retention = desk.catalogue.desk(ticket.desk, ticket.policy_version).retention
    if ticket.closed_at is None or retention is None:
        return None
    return retention.ends(ticket.closed_at), f"{ticket.desk} keeps {retention.text}"


def due_subjects(desk: TicketDesk, keys: KeyTable, now: datetime,
                 closings: Closings | None = None) -> dict[str, str]:
    """Subjects whose data is due for erasure at ``now``, each with the basis to record;
    ``closings`` kept from an earlier round, or read from the whole log."""
    live = set(keys.subjects())
    tickets: dict[str, list[Closing]] = defaultdict(list)
    for closing in (closings or Closings(desk)).now():
        if closing.requester in live:
            tickets[closing.requester].append(closing)
    due: dict[str, str] = {}
    for subject, theirs in tickets.items():
        ends = [_due(desk, t) for t in theirs]
        if all(end is not None and end[0] <= now for end in ends):
            rules = sorted({end[1] for end in ends if end is not None})
            due[subject] = f"retention after close ({'; '.join(rules)}); GDPR art. 5(1)(e)"
    return due


def apply_retention(desk: TicketDesk, keys: KeyTable, now: datetime,
                    closings: Closings | None = None) -> list[Erased]:
    done = complete_pending(desk, keys)
    for subject, basis in due_subjects(desk, keys, now, closings).items():
        try:
            done.append(erase(desk, keys, subject, asked_by=ASKED_BY, basis=basis))
        except TicketError as error:  # erased by someone else in the meantime
            log.info("retention_skipped", rule=error.rule)
    if done:
        log.info("retention_applied", erased=len(done))
    return done


def privacy_round(desk: TicketDesk) -> Callable[[datetime], object] | None:
    """The scheduler's housekeeping for personal data, or None for a desk without a key table."""
    keys = desk.personal
    if not isinstance(keys, KeyTable):
        return None
    closings = Closings(desk)
    return lambda now: apply_retention(desk, keys, now, closings)
