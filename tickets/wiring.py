"""Build the engine's parts from settings: the one place where real adapters are chosen."""

from __future__ import annotations

from domain.catalogue import Catalogue, load_catalogue
from domain.clock import Clock
from domain.desk import TicketDesk
from tickets.config import Settings


def build_catalogue(settings: Settings) -> Catalogue:
    return load_catalogue(extra_dirs=settings.policy_dirs)


def build_desk(settings: Settings, *, clock: Clock | None = None,
               catalogue: Catalogue | None = None) -> TicketDesk:
    if settings.database_url.startswith("sqlite:///"):
        settings.home.mkdir(parents=True, exist_ok=True)
    return TicketDesk(
        catalogue or build_catalogue(settings), clock=clock, env=settings.event_store_env()
    )
