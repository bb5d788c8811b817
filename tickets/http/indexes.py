"""The read-model tables the HTTP API reads, created if no feed has run yet, and its own indexes.

The tables are the projections' own (created by their own DDL, as the feed does); the indexes
below serve the ticket list's two orders (``ticket_list``) and are this API's alone.
"""

from __future__ import annotations

from consumers.readstore import ReadStore
from domain.catalogue import Catalogue
from projections.base import create_schema
from tickets.projections_registry import all_projections

INDEXES = (
    "CREATE INDEX IF NOT EXISTS http_tickets_due "
    "ON dashboard_tickets (breach_at, ticket_id) WHERE breach_at IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS http_tickets_status "
    "ON dashboard_tickets (status, ticket_id) WHERE breach_at IS NULL",
)


def ensure_read_models(store: ReadStore, catalogue: Catalogue) -> None:
    create_schema(store, all_projections(catalogue))
    with store.transaction() as tx:
        for statement in INDEXES:
            tx.execute(statement)
