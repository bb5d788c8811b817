"""Retention: erase a requester's personal data once every desk they used no longer needs it.

A requester's data goes when each of their tickets is closed and its desk's ``retention`` has
passed since it closed (``domain.retention``); a ticket still open, or on a desk without a
retention period, keeps it. The scheduler runs this now and then (``privacy_round``), and
``tickets privacy retention`` runs it at once. Each erasure is an ordinary one
(``tickets.privacy.erase``), asked by ``system:retention`` on the desk's stated basis.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

import structlog

from tickets.application.desk import TicketDesk
from tickets.domain.errors import TicketError
from tickets.domain.ticket import Ticket
from tickets.privacy.erase import Erased, complete_pending, erase
from tickets.privacy.keys import KeyTable

log = structlog.get_logger("tickets.privacy")
ASKED_BY = "system:retention"


def _due(desk: TicketDesk, ticket: Ticket) -> tuple[datetime, str] | None:
    """When the ticket stops needing its requester's personal data, and the desk's rule (None:
    not known yet, or never by itself)."""
    retention = desk.catalogue.desk(ticket.desk, ticket.policy_version).retention
    if ticket.closed_at is None or retention is None:
        return None
    return retention.ends(ticket.closed_at), f"{ticket.desk} keeps {retention.text}"


def due_subjects(desk: TicketDesk, keys: KeyTable, now: datetime) -> dict[str, str]:
    """Subjects whose data is due for erasure at ``now``, each with the basis to record."""
    live = set(keys.subjects())
    tickets: dict[str, list[Ticket]] = defaultdict(list)
    for ticket_id in desk.opened_ticket_ids():
        ticket = desk.get(ticket_id)
        if ticket.requester in live:
            tickets[ticket.requester].append(ticket)
    due: dict[str, str] = {}
    for subject, theirs in tickets.items():
        ends = [_due(desk, t) for t in theirs]
        if all(end is not None and end[0] <= now for end in ends):
            rules = sorted({end[1] for end in ends if end is not None})
            due[subject] = f"retention after close ({'; '.join(rules)}); GDPR art. 5(1)(e)"
    return due


def apply_retention(desk: TicketDesk, keys: KeyTable, now: datetime) -> list[Erased]:
    done = complete_pending(desk, keys)
    for subject, basis in due_subjects(desk, keys, now).items():
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
    return lambda now: apply_retention(desk, keys, now)
