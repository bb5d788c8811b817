"""The fast path's reading of a list page's query string: what it answers is what the route would
ask for, and anything the route might judge otherwise is left to the route (None)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.unit.http_rig import HttpRig, make_rig
from tickets.domain.catalogue import Catalogue
from tickets.domain.scope import EVERY_DESK, DeskScope
from tickets.http.ticket_list import TicketQuery, encode_cursor
from tickets.http.ticket_page import query_from_text, ticket_query

WEB = DeskScope(frozenset({"web"}))
CURSOR = encode_cursor(1, None, "t-1")


@pytest.fixture(scope="module")
def rig(catalogue: Catalogue, tmp_path_factory: pytest.TempPathFactory) -> HttpRig:
    return make_rig(catalogue, Path(tmp_path_factory.mktemp("query_text")))


@pytest.mark.parametrize(("text", "values"), [
    ("", {}),
    ("limit=7&status=new,open&status=closed", {"limit": 7, "status": ["new,open", "closed"]}),
    ("desk=web&severity=P1&sla_state=breached", {"desk": ["web"], "severity": ["P1"],
                                                 "sla_state": ["breached"]}),
    ("due_before=2026-11-30T00:00:00Z&other=1", {"due_before": "2026-11-30T00:00:00Z"}),
    (f"after={CURSOR}&limit=500", {"after": CURSOR, "limit": 500}),
])
def test_a_plainly_valid_query_is_read_as_the_route_reads_it(
    rig: HttpRig, text: str, values: dict[str, Any],
) -> None:
    expected = ticket_query(rig.ctx, EVERY_DESK, values.get("desk"), values.get("status"),
                            values.get("severity"), values.get("sla_state"),
                            values.get("due_before"), values.get("limit", 50), values.get("after"))
    found = query_from_text(rig.ctx, EVERY_DESK, text)
    assert isinstance(found, TicketQuery) and found == expected


@pytest.mark.parametrize("text", [
    "limit=0", "limit=501", "limit=abc", "limit=", "limit=%205", "limit=5&limit=6", "limit=1000",
    "status=bogus", "severity=Q9", "sla_state=late", "desk=nowhere", "due_before=yesterday",
    "due_before=2026-11-30T00:00:00", "due_before=", "after=", "after=bogus", "after=" + "x" * 600,
    "due_before=" + "9" * 65, "status=" + "&status=".join(["new"] * 201),
])
def test_a_query_the_route_might_judge_otherwise_is_left_to_the_route(rig: HttpRig, text: str) -> None:
    assert query_from_text(rig.ctx, EVERY_DESK, text) is None


def test_a_desk_outside_the_tokens_desks_is_left_to_the_route(rig: HttpRig) -> None:
    assert query_from_text(rig.ctx, WEB, "desk=zoom") is None
    mine = query_from_text(rig.ctx, WEB, "")
    assert mine is not None and list(mine.desks) == ["web"]
