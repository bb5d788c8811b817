"""A listed ticket's JSON, kept per row and view: the bytes the page always had, never another view's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tickets.domain.personal import ERASED, SEALED_PREFIX
from tickets.http import listed_json
from tickets.http.listed_json import listed, listed_objects
from tickets.http.masking import title_for
from tickets.http.query_values import to_json
from tickets.http.ticket_list import ListedTicket
from tickets.projections.audit_entry import MASK
from tickets.projections.readstore import ReadStore

SEALED_TITLE = SEALED_PREFIX + "k1:nonce:cipher"


class Keys:
    """Opens the one sealed title while its key lives; an erasure moves the generation."""

    def __init__(self) -> None:
        self.live = True
        self.moves = 0

    def open(self, name: str, value: str) -> str:
        return "Mail of Anna is down" if self.live else ERASED

    def generation(self) -> int:
        return self.moves

    def erase(self) -> None:
        self.live, self.moves = False, self.moves + 1


@pytest.fixture
def store(tmp_path: Path) -> ReadStore:
    return ReadStore(f"sqlite:///{tmp_path / 'read_models.sqlite3'}")


def ticket(ticket_id: str = "t-1", sla_state: str = "running", due: str | None = "2026-11-16T10:00:00.000000Z"
           ) -> ListedTicket:
    return ListedTicket(ticket_id, "o365", "A", "open", sla_state, None, due)


def facts(title: str | None = "Störung: メール", number: str | None = "O365-1") -> dict[str, Any]:
    return {"number": number, "title": title, "plan": "gold", "opened_at": "2026-11-16T09:00:00.000000Z"}


def objects(store: ReadStore, tickets: list[ListedTicket], extra: dict[str, dict[str, Any]],
            personal: bool, keys: Keys) -> list[dict[str, Any]]:
    generation = keys.generation()

    def title(text: Any) -> Any:
        return title_for(text, personal, keys) if isinstance(text, str) else text
    return [json.loads(o) for o in listed_objects(store, tickets, extra, personal, generation, title)]


def test_a_ticket_shown_again_is_the_same_bytes_as_when_first_built(store: ReadStore) -> None:
    tickets = [ticket("t-1"), ticket("t-2", "none", None), ticket("t-3", "breached")]
    extra = {"t-1": facts(), "t-2": facts("Ünïcode \"quoted\" \\ title", "O365-2"), "t-3": facts(number=None)}
    keys = Keys()
    first = listed_objects(store, tickets, extra, False, 0, lambda text: text)
    again = listed_objects(store, tickets, {}, False, 0, lambda text: text)  # t-1, t-2 kept
    assert first == [to_json(listed(t, extra[t.ticket_id], lambda text: text)) for t in tickets]
    assert again[:2] == first[:2]
    assert json.loads(again[2])["number"] is None  # t-3's facts were incomplete: built again
    assert objects(store, tickets[:1], {}, False, keys)[0]["due"] == "2026-11-16T10:00:00Z"


def test_a_ticket_whose_row_moved_is_built_anew(store: ReadStore) -> None:
    keys = Keys()
    assert objects(store, [ticket()], {"t-1": facts()}, False, keys)[0]["sla_state"] == "running"
    moved = objects(store, [ticket(sla_state="breached")], {"t-1": facts(title="Other")}, False, keys)
    assert moved[0]["sla_state"] == "breached" and moved[0]["title"] == "Other"


def test_a_sealed_title_kept_for_one_view_is_not_shown_to_another_nor_after_an_erasure(
        store: ReadStore) -> None:
    keys = Keys()
    extra = {"t-1": facts(title=SEALED_TITLE)}
    assert objects(store, [ticket()], extra, True, keys)[0]["title"] == "Mail of Anna is down"
    assert objects(store, [ticket()], extra, False, keys)[0]["title"] == MASK
    assert objects(store, [ticket()], extra, True, keys)[0]["title"] == "Mail of Anna is down"
    keys.erase()
    assert objects(store, [ticket()], extra, True, keys)[0]["title"] == ERASED
    assert objects(store, [ticket()], extra, False, keys)[0]["title"] == MASK


def test_facts_complete_later_are_shown_once_they_are(store: ReadStore) -> None:
    keys = Keys()
    assert objects(store, [ticket()], {"t-1": facts(title=None)}, False, keys)[0]["title"] is None
    assert objects(store, [ticket()], {"t-1": facts()}, False, keys)[0]["title"] == "Störung: メール"


def test_the_kept_objects_are_bounded(store: ReadStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listed_json, "KEPT", 3)
    keys = Keys()
    tickets = [ticket(f"t-{i}") for i in range(5)]
    objects(store, tickets, {t.ticket_id: facts(number=f"O365-{i}") for i, t in enumerate(tickets)},
            False, keys)
    # the two built first went out: without their facts they come back incomplete
    again = objects(store, tickets, {}, False, keys)
    assert [o["number"] for o in again] == [None, None, "O365-2", "O365-3", "O365-4"]
