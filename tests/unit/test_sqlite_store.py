"""The embedded SQLite event store: synchronous level chosen by configuration, copies independent."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.unit.conftest import SERVICE, at
from tickets.application.clock import VirtualClock
from tickets.application.desk import TicketDesk
from tickets.config import persistence_env
from tickets.domain.catalogue import Catalogue


def synchronous_of(desk: TicketDesk) -> int:
    datastore = desk.factory.datastore  # type: ignore[attr-defined]
    with datastore.transaction(commit=False) as cursor:
        cursor.execute("PRAGMA synchronous")
        return int(cursor.fetchone()[0])


@pytest.mark.parametrize(("level", "code"), [("NORMAL", 1), ("FULL", 2)])
def test_sqlite_synchronous_level_follows_configuration(
    tmp_path: Path, catalogue: Catalogue, clock: VirtualClock, monkeypatch: pytest.MonkeyPatch,
    level: str, code: int,
) -> None:
    monkeypatch.setenv("TICKETS_SQLITE_SYNCHRONOUS", level)
    desk = TicketDesk(catalogue, clock=clock, env=persistence_env(f"sqlite:///{tmp_path / 'e.db'}"))
    desk.open(desk="o365", requester="c-1", requester_role="admin", title="T", actor=SERVICE,
              at=at("2026-11-16T10:00:00+00:00"))
    assert synchronous_of(desk) == code


def test_a_loaded_ticket_is_a_copy_the_cache_does_not_share(
    tmp_path: Path, catalogue: Catalogue, clock: VirtualClock
) -> None:
    desk = TicketDesk(catalogue, clock=clock, rng=random.Random(3),
                      env=persistence_env(f"sqlite:///{tmp_path / 'e.db'}"))
    n = desk.open(desk="o365", requester="c-1", requester_role="admin", title="T",
                  fields={"product": "mail"}, actor=SERVICE,
                  at=at("2026-11-16T10:00:00+00:00")).number
    loaded = desk.get(n)
    with pytest.raises(TypeError):
        loaded.fields["product"] = "changed"  # type: ignore[index]
    with pytest.raises(AttributeError):
        loaded.escalated_for.append("x")  # type: ignore[attr-defined]
    loaded.__dict__["_pending_events"].append("x")
    again = desk.get(n)
    assert again.fields == {"product": "mail"} and again.escalated_for == ()
    assert again.__dict__["_pending_events"] == []
