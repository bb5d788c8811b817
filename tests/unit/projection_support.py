"""What the projection tests share: a read store in a temporary directory, and a feed into one projection."""

from __future__ import annotations

from pathlib import Path

from consumers.feed import EmbeddedFeed
from consumers.readstore import ReadStore
from consumers.store_reader import StoreReader
from domain.desk import TicketDesk
from projections.base import Projection


def read_store(tmp_path: Path, name: str = "rm") -> ReadStore:
    return ReadStore("sqlite:///" + str(tmp_path / f"{name}.sqlite3"))


def feed_into(desk: TicketDesk, store: ReadStore, projection: Projection,
              batch_size: int = 1000) -> EmbeddedFeed:
    """Catch ``projection`` up with everything in ``desk``'s store; the feed, for more steps."""
    feed = EmbeddedFeed(StoreReader(desk), store, [projection], batch_size=batch_size)
    feed.catch_up()
    return feed
