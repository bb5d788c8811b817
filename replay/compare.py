"""Compare a rebuilt read model with the live one, table by table and row by row.

Each projection's own tables are compared whole, and the shared bookkeeping tables
(``projection_versions``, ``set_aside``) on that projection's rows. Rows are matched by primary
key, read in key order on both sides (text keys in code-point order, on either database) and merged,
so tables of any size are compared without holding them. Compare when both sides are at the same
position (``positions`` says where each is): events applied to one side only show as differences.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tickets.projections.base import Projection
from tickets.projections.readstore import ReadStore
from tickets.projections.runner import position_of
from tickets.replay.tables import column_names, primary_key, stream, table_exists, text_columns

EXAMPLES = 20  # keys listed per kind of difference; the counts are always complete
_SHARED = ("projection_versions", "set_aside")
R = TypeVar("R")


@dataclass
class TableDiff:
    table: str
    projection: str
    live_rows: int = 0
    rebuilt_rows: int = 0
    missing: int = 0  # in the live table, not in the rebuilt one
    extra: int = 0  # in the rebuilt table, not in the live one
    differing: int = 0  # the same key, other values
    examples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def same(self) -> bool:
        return not (self.missing or self.extra or self.differing)

    def note(self, kind: str, key: tuple[Any, ...], columns: Sequence[str] = ()) -> None:
        if len(self.examples) < EXAMPLES:
            self.examples.append({"kind": kind, "key": list(key), "columns": list(columns)})


def ordered_rows(store: ReadStore, table: str, columns: Sequence[str], key: Sequence[str],
                 where: str = "", params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
    """``columns`` of ``table`` (optionally ``WHERE where``), streamed in ``key`` order with text
    keys in code-point order on either database; nothing when the table does not exist."""
    if not table_exists(store, table):
        return iter(())
    texts = text_columns(store, table)
    order = ", ".join(f'{k} COLLATE "C"' if k in texts else k for k in key)
    condition = f" WHERE {where}" if where else ""
    return stream(store, f"SELECT {', '.join(columns)} FROM {table}{condition} ORDER BY {order}",
                  params)


def _ordered(store: ReadStore, table: str, columns: list[str], key: list[str],
             projection: str | None) -> Iterator[tuple[Any, ...]]:
    if projection:
        return ordered_rows(store, table, columns, key, "projection = ?", (projection,))
    return ordered_rows(store, table, columns, key)


def matched(
    left: Iterator[R], right: Iterator[R], key: Callable[[R], Any]
) -> Iterator[tuple[Any, R | None, R | None]]:
    """Two streams, each in ``key`` order, matched by key: (key, left, None) for a key only on the
    left, (key, None, right) for one only on the right, (key, left, right) for one on both."""
    a, b = next(left, None), next(right, None)
    ka: Any = key(a) if a is not None else None
    kb: Any = key(b) if b is not None else None
    while a is not None or b is not None:
        if b is None or (a is not None and ka < kb):
            yield ka, a, None
            a = next(left, None)
            ka = key(a) if a is not None else None
        elif a is None or kb < ka:
            yield kb, None, b
            b = next(right, None)
            kb = key(b) if b is not None else None
        else:
            yield ka, a, b
            a, b = next(left, None), next(right, None)
            ka = key(a) if a is not None else None
            kb = key(b) if b is not None else None


def compare_table(live: ReadStore, rebuilt: ReadStore, table: str, projection: str,
                  shared: bool = False) -> TableDiff:
    diff = TableDiff(table, projection)
    source = live if table_exists(live, table) else rebuilt
    columns, key = column_names(source, table), primary_key(source, table) or column_names(source, table)
    at = [columns.index(k) for k in key]
    left = _ordered(live, table, columns, key, projection if shared else None)
    right = _ordered(rebuilt, table, columns, key, projection if shared else None)
    for k, a, b in matched(left, right, lambda row: tuple(row[i] for i in at)):
        if b is None:
            diff.missing += 1
            diff.live_rows += 1
            diff.note("missing", k)
        elif a is None:
            diff.extra += 1
            diff.rebuilt_rows += 1
            diff.note("extra", k)
        else:
            diff.live_rows += 1
            diff.rebuilt_rows += 1
            if a != b:
                diff.differing += 1
                diff.note("differs", k, [c for c, x, y in zip(columns, a, b, strict=True) if x != y])
    return diff


def compare(live: ReadStore, rebuilt: ReadStore, projections: Sequence[Projection]) -> list[TableDiff]:
    diffs = []
    for projection in projections:
        for table in projection.tables():
            diffs.append(compare_table(live, rebuilt, table, projection.name))
        for table in _SHARED:
            diffs.append(compare_table(live, rebuilt, table, projection.name, shared=True))
    return diffs


def positions(store: ReadStore, projections: Sequence[Projection]) -> dict[str, int]:
    if not table_exists(store, "projection_positions"):
        return {p.name: 0 for p in projections}
    with store.snapshot() as tx:
        return {p.name: position_of(tx, p.name) for p in projections}
