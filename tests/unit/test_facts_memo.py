"""Facts read back from the text they were written as are the facts written, field types included."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from tickets.application.clock import VirtualClock
from tickets.application.desk import TicketDesk
from tickets.application.policy_files import load_catalogue
from tickets.consumers.store_reader import StoreReader
from tickets.domain.facts import TicketFacts, fold
from tickets.projections import facts_memo
from tickets.projections.facts_state import dump_facts, load_facts
from tickets.sample_lives import desk_clock_start, register_editors, write_lives


def shape(value: Any) -> Any:
    """The value with the type of every part beside it, so that equal-but-differently-typed values differ."""
    if isinstance(value, tuple | list):
        return (type(value), tuple(shape(v) for v in value))
    if isinstance(value, datetime):
        return (type(value), value, value.tzinfo)
    return (type(value), value)


def every_facts() -> list[TicketFacts]:
    desk = TicketDesk(load_catalogue(), clock=VirtualClock(desk_clock_start()),
                      env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, rng=random.Random(3))
    register_editors(desk)
    written = write_lives(desk, 40, interleave=8)
    held: dict[str, TicketFacts] = {}
    seen = []
    for envelope in StoreReader(desk).read(0, written):
        held[envelope.ticket_id] = fold(held.get(envelope.ticket_id), envelope.history_entry)
        seen.append(held[envelope.ticket_id])
    desk.close()
    return seen


def test_written_facts_read_back_field_for_field() -> None:
    for facts in every_facts():
        loaded = load_facts(dump_facts(facts))
        assert loaded == facts
        assert {n: shape(v) for n, v in vars(loaded).items()} == {n: shape(v) for n, v in vars(facts).items()}


def test_a_text_written_is_read_back_as_the_facts_it_was_written_from() -> None:
    facts_memo.clear()
    for facts in every_facts()[:50]:
        assert facts_memo.facts_of(facts_memo.facts_text(facts)) is facts
        assert facts_memo.facts_of(dump_facts(facts)) == load_facts(dump_facts(facts))
