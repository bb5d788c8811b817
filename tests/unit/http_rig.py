"""A desk, its read models and the HTTP app over them, with one token per role, for the HTTP tests."""

from __future__ import annotations

import itertools
import random
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from httpx import Response

from tickets.application.clock import VirtualClock
from tickets.application.desk import TicketDesk
from tickets.consumers.feed import EmbeddedFeed
from tickets.consumers.store_reader import StoreReader
from tickets.domain.actor import Actor
from tickets.domain.catalogue import Catalogue
from tickets.domain.personal import SubjectKeys
from tickets.domain.scope import EVERY_DESK
from tickets.http import create_app, make_context
from tickets.http.context import HttpContext
from tickets.projections.readstore import ReadStore
from tickets.projections_registry import all_projections

with warnings.catch_warnings():  # Starlette would rather its test client ran on httpx2
    warnings.simplefilter("ignore", UserWarning)
    from fastapi.testclient import TestClient

START = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # a Monday
ROLES = ("service", "agent", "auditor", "dashboard")
WEBFORM = Actor("service", "webform")
CONTACT = {"contact_name": "Anna de Vries", "contact_email": "anna@example.nl",
           "contact_phone": "+31 20 123 4567"}


@dataclass
class HttpRig:
    desk: TicketDesk
    store: ReadStore
    feed: EmbeddedFeed
    clock: VirtualClock
    ctx: HttpContext
    client: TestClient
    tokens: dict[str, str] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def get(self, path: str, role: str = "dashboard", **kwargs: Any) -> Response:
        headers = {**self.auth(role), **kwargs.pop("headers", {})}
        return self.client.get(path, headers=headers, **kwargs)

    def command(self, message: Any, role: str = "service", **kwargs: Any) -> Response:
        headers = {**self.auth(role), **kwargs.pop("headers", {})}
        return self.client.post("/api/commands", json=message, headers=headers, **kwargs)

    def open(self, desk: str = "o365", severity: str | None = "A", *, personal: bool = True,
             project: bool = True, title: str = "Mail is down") -> str:
        """Open a ticket straight on the desk; its number."""
        role = {"o365": "admin", "nl-vendor": "user", "zoom": "admin"}[desk]
        fields = {**(CONTACT if personal else {}), "product": "mail"}
        number = self.desk.open(desk=desk, requester=f"c-{next(self._ids)}", requester_role=role,
                                title=title, fields=fields, severity=severity, actor=WEBFORM).number
        if project:
            self.feed.catch_up()
        return number


def make_rig(catalogue: Catalogue, tmp_path: Path, start: datetime = START,
             keys: SubjectKeys | None = None, store_url: str | None = None) -> HttpRig:
    """``store_url``: the read models' database (by default a SQLite file under ``tmp_path``)."""
    # Another test may have configured structlog to print to a stream pytest has closed since.
    structlog.reset_defaults()
    clock = VirtualClock(start)
    desk = TicketDesk(catalogue, clock=clock, env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
                      rng=random.Random(11), keys=keys)
    store = ReadStore(store_url or f"sqlite:///{tmp_path / 'read_models.sqlite3'}")
    feed = EmbeddedFeed(StoreReader(desk), store, all_projections(catalogue))
    ctx = make_context(desk, store, clock, stream_interval=0.02)
    client = TestClient(create_app(ctx), raise_server_exceptions=False)
    rig = HttpRig(desk, store, feed, clock, ctx, client)
    for role in ROLES:
        rig.tokens[role] = ctx.tokens.create(f"{role}-1", role, EVERY_DESK)
    return rig
