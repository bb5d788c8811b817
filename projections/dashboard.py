"""The dashboard projection: per-ticket facts, one row per ticket, and counters kept by difference.

For each batch it loads the facts and rows of the tickets the batch touches, folds each envelope into
the facts (the same ``fold`` the SLA clock uses), derives each touched ticket's row from its facts
after its last envelope in the batch, and moves the counters by what the new rows add minus what
the old rows added. Rows and counters therefore do not depend on how the events were batched,
and the figures (``projections.dashboard_figures``) read counters instead of counting rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from tickets.domain.catalogue import Catalogue
from tickets.domain.errors import TicketError
from tickets.domain.facts import FoldError, TicketFacts
from tickets.projections.base import Projection, SetAside
from tickets.projections.dashboard_figures import (
    Figures,
    FirstResponseFigure,
    OpenCount,
    SlaFigure,
    figures,
    figures_cached,
)
from tickets.projections.dashboard_state import ROW_COLUMNS, CountKey, DashboardRow, dashboard_row
from tickets.projections.envelope import Envelope
from tickets.projections.facts_memo import facts_of, facts_text, folded
from tickets.projections.facts_state import fold_batch
from tickets.projections.readstore import Pending, Tx

__all__ = [
    "DashboardProjection", "Figures", "FirstResponseFigure", "OpenCount", "SlaFigure", "figures",
    "figures_cached",
]


class DashboardProjection(Projection):
    name = "dashboard"
    ddl = (
        """CREATE TABLE IF NOT EXISTS dashboard_facts (
            ticket_id TEXT PRIMARY KEY, facts TEXT NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS dashboard_tickets (
            ticket_id TEXT PRIMARY KEY, desk TEXT NOT NULL, severity TEXT NOT NULL,
            status TEXT NOT NULL, first_response_seconds DOUBLE PRECISION NULL,
            fr_bucket BIGINT NULL, sla_static TEXT NULL, risk_at TEXT NULL, breach_at TEXT NULL)""",
        """CREATE TABLE IF NOT EXISTS dashboard_counts (
            kind TEXT NOT NULL, desk TEXT NOT NULL, severity TEXT NOT NULL, key TEXT NOT NULL,
            tickets BIGINT NOT NULL, PRIMARY KEY (kind, key, desk, severity))""",
        "CREATE INDEX IF NOT EXISTS dashboard_tickets_risk "
        "ON dashboard_tickets (risk_at, desk, severity) WHERE risk_at IS NOT NULL",
        "CREATE INDEX IF NOT EXISTS dashboard_tickets_breach "
        "ON dashboard_tickets (breach_at, desk, severity) WHERE breach_at IS NOT NULL",
        "CREATE INDEX IF NOT EXISTS dashboard_tickets_first_response "
        "ON dashboard_tickets (desk, severity, fr_bucket, first_response_seconds) "
        "WHERE fr_bucket IS NOT NULL",
    )

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue

    def read_state(self, tx: Tx, ticket_ids: Sequence[str]) -> tuple[Pending, Pending]:
        """The facts and the rows (for the counters' difference) of the tickets."""
        return (
            tx.query_in("SELECT ticket_id, facts FROM dashboard_facts WHERE ticket_id {in}", (),
                        ticket_ids),
            tx.query_in(f"SELECT {', '.join(ROW_COLUMNS)} FROM dashboard_tickets WHERE ticket_id {{in}}",
                        (), ticket_ids),
        )

    def apply(self, tx: Tx, batch: Sequence[Envelope],
              held: tuple[Pending, Pending] | None = None) -> list[SetAside]:
        if held is None:
            held = self.read_state(tx, sorted({e.ticket_id for e in batch}))
        facts, rows = held
        state = {t: facts_of(text) for t, text in facts.rows()}
        states, last, aside = fold_batch(state, batch, self._step)
        touched = {ticket_id: states[ticket_id] for ticket_id in sorted(last)}
        old = [DashboardRow.from_values(values) for values in rows.rows() if values[0] in touched]
        new = [dashboard_row(f, self.catalogue.desk(f.desk, f.policy_version)) for f in touched.values()]
        tx.executemany(
            "INSERT INTO dashboard_facts (ticket_id, facts) VALUES (?, ?) "
            "ON CONFLICT (ticket_id) DO UPDATE SET facts = excluded.facts",
            [(ticket_id, facts_text(facts)) for ticket_id, facts in touched.items()],
        )
        updates = ", ".join(f"{c} = excluded.{c}" for c in ROW_COLUMNS[1:])
        tx.executemany(
            f"INSERT INTO dashboard_tickets ({', '.join(ROW_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(ROW_COLUMNS))}) "
            f"ON CONFLICT (ticket_id) DO UPDATE SET {updates}",
            [row.values() for row in new],
        )
        _move_counts(tx, old, new)
        return aside

    def _step(self, facts: TicketFacts | None, envelope: Envelope) -> TicketFacts:
        """The domain's fold, refusing a ticket whose desk or plan the catalogue does not know."""
        after = folded(facts, envelope.history_entry)
        try:
            self.catalogue.desk(after.desk, after.policy_version).plan(after.plan)
        except TicketError as error:
            raise FoldError(str(error), error.rule or "known_desk_and_plan") from None
        return after


def _move_counts(tx: Tx, old: Iterable[DashboardRow], new: Iterable[DashboardRow]) -> None:
    """Add what the new rows count and take away what the old rows counted; drop zero counters."""
    delta: Counter[CountKey] = Counter()
    for row in new:
        delta.update(row.counts())
    for row in old:
        delta.subtract(row.counts())
    moved = sorted((key, n) for key, n in delta.items() if n != 0)
    tx.executemany(
        "INSERT INTO dashboard_counts (kind, desk, severity, key, tickets) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (kind, key, desk, severity) "
        "DO UPDATE SET tickets = dashboard_counts.tickets + excluded.tickets",
        [(*key, n) for key, n in moved],
    )
    tx.executemany(
        "DELETE FROM dashboard_counts WHERE kind = ? AND desk = ? AND severity = ? AND key = ? "
        "AND tickets = 0",
        [key for key, _ in moved],
    )
