"""The database a rebuild writes into, and how far each part of the rebuild has got in it.

A rebuild target is a fresh read-model database: a SQLite file, or a PostgreSQL schema named in
the URL (``postgresql://.../db?options=-csearch_path%3Dname``; the schema is created when missing).
Progress lives in the target itself (``rebuild_progress``, one row per part, written in the same
transaction as the part's rows), so an interrupted rebuild continues where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from urllib.parse import parse_qs, unquote, urlsplit

from tickets.domain.errors import ValidationError
from tickets.projections.base import Projection
from tickets.projections.readstore import ReadStore
from tickets.projections.runner import COMMON_DDL, create_schema, save_position
from tickets.replay.tables import table_exists

PROGRESS_DDL = (
    "CREATE TABLE IF NOT EXISTS rebuild_progress (part BIGINT PRIMARY KEY, parts BIGINT NOT NULL, "
    "position BIGINT NOT NULL)"
)


def postgres_schema(url: str) -> str | None:
    """The schema a PostgreSQL URL puts first on the search path, if it names one."""
    for option in parse_qs(urlsplit(url).query).get("options", []):
        for word in unquote(option).split():
            if word.startswith("-csearch_path="):
                return word.removeprefix("-csearch_path=").split(",")[0].strip('"') or None
    return None


def open_target(url: str, *, create: bool = True) -> ReadStore:
    """The target's store; ``create``: make its PostgreSQL schema if missing."""
    try:
        store = ReadStore(url)
    except (ValueError, OSError) as error:
        raise ValidationError(str(error), field="into", rule="read_model_url") from None
    schema = postgres_schema(url) if store.dialect == "postgres" and create else None
    if schema is not None:
        with store.transaction() as tx:
            tx.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    return store


def _is_index(statement: str) -> bool:
    return statement.split()[1].upper() in ("INDEX", "UNIQUE")


def build_indexes(store: ReadStore, projections: Sequence[Projection],
                  before_each: Callable[[], None] | None = None) -> None:
    """Create the projections' indexes that are missing, one transaction each.

    One at a time, so a part still loading into the same SQLite file waits for one index at most
    (its busy timeout is ``ReadStore``'s 30 s), never for all of them; ``before_each`` waits until
    no part wants to write (``replay.rebuild.Turns``).
    """
    for projection in projections:
        for statement in projection.ddl:
            if _is_index(statement):
                if before_each is not None:
                    before_each()
                with store.transaction() as tx:
                    tx.execute(statement)


def finish(store: ReadStore, projections: Sequence[Projection], position: int) -> None:
    """Build the indexes (left out while loading: a fresh table loads faster without them) and set
    every projection's position: the target is then a read model like the live one."""
    create_schema(store, projections)  # the indexes ``build_indexes`` has not built yet, if any
    with store.transaction() as tx:
        for projection in projections:
            save_position(tx, projection.name, position)


def prepare(store: ReadStore, projections: Sequence[Projection], parts: int) -> dict[int, int]:
    """Create the tables (not yet their indexes); return each part's position (new: all at 0).

    Refuses a database that already holds projections but no rebuild: that is a live read model.
    A rebuild that was split into another number of parts continues with that number.
    """
    live = table_exists(store, "projection_positions") and not table_exists(store, "rebuild_progress")
    if live and store.read("SELECT 1 FROM projection_positions WHERE position > 0"):
        raise ValidationError(
            "the target already holds projections that no rebuild wrote (a live read model?); "
            "rebuild into a fresh database", field="into", rule="fresh_target",
        )
    with store.transaction() as tx:
        for statement in COMMON_DDL:
            tx.execute(statement)
        for projection in projections:
            for statement in projection.ddl:
                if not _is_index(statement):
                    tx.execute(statement)
        tx.execute(PROGRESS_DDL)
        held = {int(p): (int(n), int(pos)) for p, n, pos in
                tx.execute("SELECT part, parts, position FROM rebuild_progress")}
        if held:
            return {part: pos for part, (_, pos) in sorted(held.items())}
        tx.executemany("INSERT INTO rebuild_progress (part, parts, position) VALUES (?, ?, 0)",
                       [(part, parts) for part in range(parts)])
    return dict.fromkeys(range(parts), 0)
