"""The projections the engine keeps, in one list, so the feed, rebuilds and tests agree on it."""

from __future__ import annotations

from tickets.domain.catalogue import Catalogue
from tickets.projections.audit_trail import AuditTrailProjection
from tickets.projections.base import Projection
from tickets.projections.dashboard import DashboardProjection
from tickets.projections.escalation_queues import EscalationQueuesProjection
from tickets.projections.sla_timers import SlaTimersProjection


def all_projections(catalogue: Catalogue) -> list[Projection]:
    """A fresh instance of every projection (the SLA timers first: the scheduler reads them)."""
    return [
        SlaTimersProjection(catalogue),
        EscalationQueuesProjection(catalogue),
        AuditTrailProjection(),
        DashboardProjection(catalogue),
    ]
