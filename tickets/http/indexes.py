"""The read-model tables the HTTP API reads, created if no feed has run yet, and its own indexes.

The tables are the projections' own (created by their own DDL, as the feed does); the indexes
below serve the ticket list's two orders (``ticket_list``) and the desk-scoped change stream
(``stream_scope``), and are this API's alone. A desk has
no index of its own: each desk holds a fifth or so of the tickets, so walking the page order and
skipping other desks' rows is as quick; a severity (per desk) or a status often holds far fewer.
"""

from __future__ import annotations

from tickets.domain.catalogue import Catalogue
from tickets.projections.readstore import ReadStore
from tickets.projections.runner import create_schema
from tickets.projections_registry import all_projections

DUE, DUE_BY_SEVERITY, DUE_BY_STATUS = (
    "http_tickets_due", "http_tickets_due_severity", "http_tickets_due_status")
REST_BY_SEVERITY, REST_BY_STATUS, REST_BY_STATE = (
    "http_tickets_severity", "http_tickets_status", "http_tickets_state")
AUDIT_BY_POSITION = "http_audit_position"
INDEXES = (
    # Tickets with a running clock, by due time: all of them, one severity's, one status's.
    f"CREATE INDEX IF NOT EXISTS {DUE} "
    "ON dashboard_tickets (breach_at, ticket_id) WHERE breach_at IS NOT NULL",
    f"CREATE INDEX IF NOT EXISTS {DUE_BY_SEVERITY} "
    "ON dashboard_tickets (severity, breach_at, ticket_id) WHERE breach_at IS NOT NULL",
    f"CREATE INDEX IF NOT EXISTS {DUE_BY_STATUS} "
    "ON dashboard_tickets (status, breach_at, ticket_id) WHERE breach_at IS NOT NULL",
    # The others, by id: one severity's, one status's, one fixed SLA state's (all: the primary key).
    f"CREATE INDEX IF NOT EXISTS {REST_BY_SEVERITY} "
    "ON dashboard_tickets (severity, ticket_id) WHERE breach_at IS NULL",
    f"CREATE INDEX IF NOT EXISTS {REST_BY_STATUS} "
    "ON dashboard_tickets (status, ticket_id) WHERE breach_at IS NULL",
    f"CREATE INDEX IF NOT EXISTS {REST_BY_STATE} "
    "ON dashboard_tickets (sla_static, ticket_id) WHERE breach_at IS NULL",
    # The events after a position, with their desks: what a desk-scoped change stream looks at.
    f"CREATE INDEX IF NOT EXISTS {AUDIT_BY_POSITION} ON audit_trail (position, desk)",
)


def ensure_read_models(store: ReadStore, catalogue: Catalogue) -> None:
    create_schema(store, all_projections(catalogue))
    with store.transaction() as tx:
        for statement in INDEXES:
            tx.execute(statement)
