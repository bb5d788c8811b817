from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from tickets.application.clock import VirtualClock
from tickets.application.desk import TicketDesk
from tickets.domain.actor import Actor
from tickets.domain.catalogue import Catalogue

AGENT = Actor("agent", "a-1")
CUSTOMER = Actor("customer", "c-1")
SERVICE = Actor("service", "webform")


@pytest.fixture
def desk(catalogue: Catalogue, clock: VirtualClock) -> TicketDesk:
    return TicketDesk(
        catalogue, clock=clock, env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
        rng=random.Random(7),
    )


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def live_every_event_type(desk: TicketDesk, title: str = "T") -> str:
    """One zoom ticket through nine of the ten event types (all but ``Reopened``); its number."""
    from tickets.domain.actor import SCHEDULER

    n = desk.open(desk="zoom", plan="premier-plus", severity="P2", requester=CUSTOMER.id,
                  requester_role="admin", title=title, fields={"contact_name": "Ann"},
                  actor=SERVICE, at=at("2026-11-02T09:00:00+01:00")).number
    desk.set_severity(n, "P1", "reclassified", actor=AGENT, at=at("2026-11-02T09:01:00.250000+01:00"))
    desk.assign(n, "a-1", actor=AGENT, at=at("2026-11-02T09:02:00+01:00"))
    desk.respond(n, actor=AGENT, at=at("2026-11-02T09:03:00+01:00"))
    desk.request_info(n, actor=AGENT, at=at("2026-11-02T09:04:00+01:00"))
    desk.request_info(n, actor=AGENT, replace=True, at=at("2026-11-02T09:05:00+01:00"))
    desk.escalate(n, "complaint", actor=CUSTOMER, at=at("2026-11-02T09:06:00+01:00"))
    desk.warn_auto_close(n, actor=SCHEDULER, at=at("2026-11-05T09:05:00+01:00"))
    desk.customer_reply(n, actor=CUSTOMER, at=at("2026-11-05T10:00:00+01:00"))
    desk.close_ticket(n, "resolved", actor=AGENT, at=at("2026-11-05T11:00:00+01:00"))
    return n
