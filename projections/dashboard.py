"""The dashboard projection: per-ticket facts, one row per ticket, and counters kept by difference.

A ticket's state is its facts (the domain's ``fold``, the one the SLA clock uses); its row is
derived from them (``projections.dashboard_state``), and the counters are declared as what a row
counts (``DashboardRow.counts``): the runner moves them by what a ticket's new row counts minus
what its old row counted. Rows and counters therefore do not depend on how the events were
batched, and the figures (``projections.dashboard_figures``) read counters instead of counting rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tickets.domain.catalogue import Catalogue
from tickets.domain.errors import TicketError
from tickets.domain.facts import FoldError, TicketFacts
from tickets.projections.base import Projection
from tickets.projections.dashboard_figures import (
    Figures,
    FirstResponseFigure,
    OpenCount,
    SlaFigure,
    figures,
    figures_cached,
)
from tickets.projections.dashboard_state import ROW_COLUMNS, DashboardRow, dashboard_row
from tickets.projections.facts_memo import facts_of, facts_text, folded
from tickets.projections.facts_state import id_text
from tickets.projections.schema import Counts, Row, Table
from tickets.wire.envelope import Envelope

__all__ = [
    "DashboardProjection", "Figures", "FirstResponseFigure", "OpenCount", "SlaFigure", "figures",
    "figures_cached",
]

_TEXT, _NULL = "TEXT NOT NULL", "TEXT NULL"
FACTS = Table("dashboard_facts", (("ticket_id", _TEXT), ("facts", _TEXT)), ("ticket_id",))
_NULLABLE = {"first_response_seconds": "DOUBLE PRECISION NULL", "fr_bucket": "BIGINT NULL",
             "sla_static": _NULL, "risk_at": _NULL, "breach_at": _NULL}
TICKETS = Table(
    "dashboard_tickets",
    tuple((name, _NULLABLE.get(name, _TEXT)) for name in ROW_COLUMNS),
    ("ticket_id",),
    ("CREATE INDEX IF NOT EXISTS dashboard_tickets_risk "
     "ON dashboard_tickets (risk_at, desk, severity) WHERE risk_at IS NOT NULL",
     "CREATE INDEX IF NOT EXISTS dashboard_tickets_breach "
     "ON dashboard_tickets (breach_at, desk, severity) WHERE breach_at IS NOT NULL",
     "CREATE INDEX IF NOT EXISTS dashboard_tickets_first_response "
     "ON dashboard_tickets (desk, severity, fr_bucket, first_response_seconds) "
     "WHERE fr_bucket IS NOT NULL"),
)
COUNTS = Counts(
    Table("dashboard_counts",
          (("kind", _TEXT), ("desk", _TEXT), ("severity", _TEXT), ("key", _TEXT),
           ("tickets", "BIGINT NOT NULL")),
          ("kind", "key", "desk", "severity")),
    source="dashboard_tickets",
    keys=lambda row: DashboardRow.from_values(row).counts(),
)


class DashboardProjection(Projection[TicketFacts]):
    """Per ticket its facts and one row; the counters (``dashboard_counts``) move by what the
    ticket's new row counts minus what its old row counted."""

    name = "dashboard"
    state_table = FACTS
    tables_declared = (TICKETS,)
    counts = COUNTS

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue

    def evolve(self, state: TicketFacts | None, envelope: Envelope) -> TicketFacts:
        """The domain's fold, refusing a ticket whose desk or plan the catalogue does not know."""
        after = folded(state, envelope.history_entry)
        if (state is not None and after.desk == state.desk and after.plan == state.plan
                and after.policy_version == state.policy_version):
            return after  # known when the ticket was opened, and no event changes them
        try:
            self.catalogue.desk(after.desk, after.policy_version).plan(after.plan)
        except TicketError as error:
            raise FoldError(str(error), error.rule or "known_desk_and_plan") from None
        return after

    def rows(self, state: TicketFacts) -> Mapping[str, Sequence[Row]]:
        desk = self.catalogue.desk(state.desk, state.policy_version)
        return {"dashboard_tickets": (dashboard_row(state, desk).values(),)}

    def state_row(self, state: TicketFacts) -> Row:
        return (id_text(state.ticket_id), facts_text(state))

    def load_state(self, row: Row) -> TicketFacts:
        return facts_of(row[1])
