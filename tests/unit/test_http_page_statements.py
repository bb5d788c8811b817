"""How many statements a ticket-list page takes: on PostgreSQL a page that starts among the running
clocks reads both parts in one statement; a part that cannot hold a row is not read at all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tickets.http.steps import Statement
from tickets.http.ticket_list import TicketQuery, encode_cursor, page_steps
from tickets.wire.envelope import format_time

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
IN_CLOCKS = encode_cursor(0, format_time(NOW + timedelta(hours=1)), "t-5")
IN_REST = encode_cursor(1, None, "t-5")


def _statements(dialect: str, query: TicketQuery) -> list[Statement]:
    """The statements the page yields, each answered with no rows."""
    steps, said = page_steps(dialect, query, NOW), []
    try:
        said.append(next(steps))
        while True:
            said.append(steps.send([]))
    except StopIteration:
        return said


@pytest.mark.parametrize("query", [
    TicketQuery(), TicketQuery(statuses=("open",), severities=("P1",)),
    TicketQuery(sla_states=("running", "breached")), TicketQuery(after=IN_CLOCKS),
    TicketQuery(desks=("web",), sla_states=("at_risk", "none"), after=IN_CLOCKS),
])
def test_a_page_starting_among_the_running_clocks_is_one_statement_on_postgresql(
        query: TicketQuery) -> None:
    postgres, sqlite = _statements("postgres", query), _statements("sqlite", query)
    assert len(postgres) == 1 and "UNION ALL" in postgres[0][0]
    assert len(sqlite) == 2
    sql, params = postgres[0]
    assert sql.count("?") == len(params) and params[-1] == query.limit + 1
    if query.after is None:  # the same parameters as the two reads, then the page's size
        assert list(params) == [*sqlite[0][1], *sqlite[1][1], query.limit + 1]


@pytest.mark.parametrize(("query", "reads"), [
    (TicketQuery(statuses=("closed",)), 1),  # no clock runs on a closed ticket
    (TicketQuery(sla_states=("met",)), 1),  # met is a fixed state only
    (TicketQuery(sla_states=("at_risk",)), 1),  # at risk needs a running clock
    (TicketQuery(due_before=NOW), 1),  # only a running clock has a due time
    (TicketQuery(after=IN_REST), 1),  # the cursor is past the running clocks
])
def test_a_page_of_one_part_is_that_part_alone(query: TicketQuery, reads: int) -> None:
    for dialect in ("postgres", "sqlite"):
        said = _statements(dialect, query)
        assert len(said) == reads and "UNION" not in said[0][0]


def test_rows_of_both_parts_make_the_page_in_the_order_they_come() -> None:
    steps = page_steps("postgres", TicketQuery(limit=2), NOW)
    next(steps)
    risk, due = format_time(NOW - timedelta(hours=1)), format_time(NOW + timedelta(hours=1))
    rows = [("t-2", "web", "P1", "open", None, risk, due),
            ("t-1", "web", "P1", "closed", "met", None, None),
            ("t-3", "web", "P1", "closed", None, None, None)]
    with pytest.raises(StopIteration) as done:
        steps.send(rows)
    page = done.value.value
    assert [(t.ticket_id, t.sla_state) for t in page.tickets] == [("t-2", "at_risk"), ("t-1", "met")]
    assert page.next == encode_cursor(1, None, "t-1")
