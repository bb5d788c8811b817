"""What the projection tests share: a read store in a temporary directory, and a feed into one projection."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from tickets.application.desk import TicketDesk
from tickets.consumers.feed import EmbeddedFeed
from tickets.consumers.store_reader import StoreReader
from tickets.projections.audit_hash import envelope_content
from tickets.projections.base import Projection
from tickets.projections.readstore import ReadStore
from tickets.wire.envelope import Envelope, chained_hash


def read_store(tmp_path: Path, name: str = "rm") -> ReadStore:
    return ReadStore("sqlite:///" + str(tmp_path / f"{name}.sqlite3"))


def feed_into(desk: TicketDesk, store: ReadStore, projection: Projection,
              batch_size: int = 1000) -> EmbeddedFeed:
    """Catch ``projection`` up with everything in ``desk``'s store; the feed, for more steps."""
    feed = EmbeddedFeed(StoreReader(desk), store, [projection], batch_size=batch_size)
    feed.catch_up()
    return feed


def resealed(envelope: Envelope, **changes: Any) -> Envelope:
    """``envelope`` with ``changes`` and a hash that matches them (its link kept unless changed):
    what a projection must judge on its content, past the admission's hash check."""
    changed = replace(envelope, **changes)
    return replace(changed, hash=chained_hash(changed.prev_hash, envelope_content(changed)))
