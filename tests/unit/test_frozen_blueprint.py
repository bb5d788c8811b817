"""``domain.frozen``: values built without the frozen ``__init__`` are the values ``__init__`` builds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from uuid import uuid4

import pytest

from tickets.domain.facts import TicketFacts
from tickets.domain.frozen import Blueprint, replaced
from tickets.domain.ticket_state import Opening

AT = datetime(2026, 11, 2, 9, tzinfo=UTC)


def facts_values() -> dict[str, object]:
    return dict(ticket_id=uuid4(), number="ZM-1", desk="zoom", policy_version=1, plan="premier",
                category="general", severity="P2", status="new", level="front_line",
                opened_at=AT, version=1, last_occurred_at=AT, requester_role="admin")


def test_built_facts_equal_the_facts_init_builds_field_for_field_in_order() -> None:
    built = Blueprint(TicketFacts).build(**facts_values())
    made = TicketFacts(**facts_values() | {"ticket_id": built.ticket_id})  # type: ignore[arg-type]
    assert built == made and hash(built) == hash(made)
    assert list(vars(built)) == list(vars(made))
    assert repr(built) == repr(made)


def test_an_opening_built_is_the_opening_made() -> None:
    values = dict(requester="c-1", requester_role="admin", title="T",
                  fields=MappingProxyType({"contact_name": "Ann"}), channel="api")
    assert Blueprint(Opening).build(**values) == Opening(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("change", [
    lambda v: v.pop("number"),  # a field without a default left out
    lambda v: v.update(numbr="ZM-1"),  # a name the class does not declare
])
def test_a_missing_or_unknown_field_is_refused_as_init_refuses_it(change: object) -> None:
    values = facts_values()
    change(values)  # type: ignore[operator]
    with pytest.raises(TypeError):
        TicketFacts(**values)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="TicketFacts"):
        Blueprint(TicketFacts).build(**values)


def test_a_class_with_post_init_or_a_factory_is_not_built_around_its_init() -> None:
    @dataclass(frozen=True)
    class Checked:
        n: int

        def __post_init__(self) -> None:
            if self.n < 0:
                raise ValueError("n")

    @dataclass(frozen=True)
    class Listed:
        items: list[int] = field(default_factory=list)

    for cls in (Checked, Listed):
        with pytest.raises(TypeError):
            Blueprint(cls)


def test_replaced_changes_only_the_named_fields() -> None:
    before = Blueprint(TicketFacts).build(**facts_values())
    after = replaced(before, {"status": "open", "version": 2})
    assert (after.status, after.version, before.status, before.version) == ("open", 2, "new", 1)
    assert vars(after) == vars(before) | {"status": "open", "version": 2}
