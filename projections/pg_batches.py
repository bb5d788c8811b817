"""Many rows in one statement on PostgreSQL: ``executemany`` rewritten over ``unnest`` of binary arrays.

psycopg's ``executemany`` sends one statement per row (pipelined); with the pure-Python driver that
costs about 100-200 µs a row. Two shapes the projections use become one statement with one binary
array parameter per column (measured here, 13 text/bigint columns: executemany 4,500 rows/s, a
multi-row ``VALUES`` 3,000 — psycopg parses every long statement anew —, ``unnest`` of binary
arrays 19,000; the arrays are encoded by ``projections.pg_arrays``, not psycopg's list dumper):

* ``INSERT INTO t (c1, ...) VALUES (?, ...) [ON CONFLICT ...]`` becomes
  ``INSERT INTO t (c1, ...) SELECT * FROM unnest(%b::type1[], ...) [ON CONFLICT ...]``.
  PostgreSQL refuses ``ON CONFLICT DO UPDATE`` touching one row twice in a statement, so rows are
  first split into rounds: round k holds the k-th row of each conflict key, and rounds run in
  order. Rows with different keys do not affect each other, so the outcome equals row-by-row
  order (also for ``DO UPDATE SET n = t.n + excluded.n``).
* ``DELETE FROM t WHERE c1 = ? AND c2 = ? [AND n = 0]`` becomes
  ``... WHERE (c1, c2) IN (SELECT * FROM unnest(...)) [AND n = 0]`` (conditions without a
  placeholder are kept as they are).

The column types come from the catalogue, once per connection and table. Anything else — another
statement shape, a type other than text, bigint and double precision, a value of an unexpected
Python type — goes to ``executemany`` unchanged, so the outcome never differs, only the speed.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from tickets.projections.pg_arrays import KINDS, EncodedArray, encode

_INSERT = re.compile(
    r"\s*INSERT\s+INTO\s+(?P<table>\w+)\s*\((?P<cols>[^)]*)\)\s*VALUES\s*"
    r"\((?P<marks>\s*\?\s*(?:,\s*\?\s*)*)\)(?P<tail>.*)", re.IGNORECASE | re.DOTALL)
_CONFLICT = re.compile(r"ON\s+CONFLICT\s*\((?P<keys>[^)]*)\)\s*DO\s+UPDATE", re.IGNORECASE)
_DELETE = re.compile(r"\s*DELETE\s+FROM\s+(?P<table>\w+)\s+WHERE\s+(?P<cond>.*)", re.IGNORECASE | re.DOTALL)
_KEY_TERM = re.compile(r"\s*(?P<col>\w+)\s*=\s*\?\s*")


_NONE = type(None)
#: The column types handled, and the Python types each takes as they are.
_ACCEPTS: dict[str, frozenset[type]] = {
    "text": frozenset((str, _NONE)), "bigint": frozenset((int, _NONE)),
    "double precision": frozenset((int, float, _NONE)),
}
_TYPES: weakref.WeakKeyDictionary[Any, dict[str, dict[str, str]]] = weakref.WeakKeyDictionary()


def pg_sql(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (a literal ``%`` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


@lru_cache(maxsize=256)
def _shape(sql: str) -> tuple[str, str, tuple[str, ...], str, tuple[int, ...] | None] | None:
    """(kind, table, columns, tail, conflict key positions) of a statement that can be batched."""
    insert = _INSERT.fullmatch(sql)
    if insert is not None:
        cols = tuple(c.strip() for c in insert["cols"].split(","))
        tail = insert["tail"]
        if "?" in tail or insert["marks"].count("?") != len(cols):
            return None
        keys: tuple[int, ...] | None = None
        conflict = _CONFLICT.search(tail)
        if conflict is not None:
            wanted = [k.strip() for k in conflict["keys"].split(",")]
            if any(k not in cols for k in wanted):
                return None
            keys = tuple(cols.index(k) for k in wanted)
        elif re.search(r"DO\s+UPDATE", tail, re.IGNORECASE):
            return None
        return ("insert", insert["table"], cols, pg_sql(tail), keys)
    delete = _DELETE.fullmatch(sql)
    if delete is not None and not re.search(r"\bOR\b|\(", delete["cond"], re.IGNORECASE):
        keys_of: list[str] = []
        rest: list[str] = []
        for term in re.split(r"\s+AND\s+", delete["cond"].strip(), flags=re.IGNORECASE):
            key = _KEY_TERM.fullmatch(term)
            if key is not None:
                keys_of.append(key["col"])
            elif "?" in term:
                return None
            else:
                rest.append(term.strip())
        if keys_of:
            tail = "".join(f" AND {term}" for term in rest)
            return ("delete", delete["table"], tuple(keys_of), pg_sql(tail), None)
    return None


def _column_types(cursor: Any, table: str) -> dict[str, str]:
    per_table = _TYPES.setdefault(cursor.connection, {})
    if table not in per_table:
        cursor.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped", (table,))
        per_table[table] = {name: kind for name, kind in cursor.fetchall()}
    return per_table[table]


def _rounds(rows: Sequence[Sequence[Any]], keys: tuple[int, ...] | None) -> list[list[Sequence[Any]]]:
    """Rows split so that no conflict key appears twice in a round; order kept within a key."""
    if keys is None:
        return [list(rows)]
    seen: dict[tuple[Any, ...], int] = {}
    rounds: list[list[Sequence[Any]]] = []
    for row in rows:
        key = tuple(row[i] for i in keys)
        n = seen.get(key, 0)
        seen[key] = n + 1
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(row)
    return rounds


def _arrays(rows: Sequence[Sequence[Any]], types: Sequence[str]) -> list[EncodedArray] | None:
    """One binary array per column (``projections.pg_arrays``), or None when a value does not suit its
    column's type or cannot be sent that way.

    A text column also takes ``str`` subclasses (the domain's ``StrEnum`` kinds and states), as
    their plain text: what psycopg sends for them row by row.
    """
    columns: list[list[Any]] = [list(c) for c in zip(*rows, strict=True)]
    for values, kind in zip(columns, types, strict=True):
        seen = set(map(type, values))
        if seen <= _ACCEPTS[kind]:
            if kind == "double precision" and int in seen:
                values[:] = [None if v is None else float(v) for v in values]
        elif kind == "text" and all(t is _NONE or issubclass(t, str) for t in seen):
            values[:] = [None if v is None else str.__str__(v) for v in values]
        else:
            return None
    encoded = [encode(KINDS[kind], values) for values, kind in zip(columns, types, strict=True)]
    return None if None in encoded else encoded  # type: ignore[return-value]


def execute_batched(cursor: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """Run ``sql`` (``?`` placeholders) once per row, in as few statements as keeps the outcome."""
    shape = _shape(sql)
    types: list[str] = []
    if shape is not None:
        known = _column_types(cursor, shape[1])
        types = [known.get(c, "") for c in shape[2]]
    if shape is None or any(t not in _ACCEPTS for t in types):
        cursor.executemany(pg_sql(sql), [tuple(r) for r in rows])
        return
    if cursor.connection.info.encoding != "utf-8":  # the arrays are encoded as UTF-8
        cursor.executemany(pg_sql(sql), [tuple(r) for r in rows])
        return
    kind, table, cols, tail, keys = shape
    arrays = ", ".join(f"%b::{t}[]" for t in types)
    if kind == "insert":
        statement = f"INSERT INTO {table} ({', '.join(cols)}) SELECT * FROM unnest({arrays}){tail}"
    else:
        where = f"({', '.join(cols)}) IN (SELECT * FROM unnest({arrays}))"
        statement = f"DELETE FROM {table} WHERE {where}{tail}"
    for group in _rounds(rows, keys):
        columns = _arrays(group, types)
        if columns is None:
            cursor.executemany(pg_sql(sql), [tuple(r) for r in group])
        else:
            cursor.execute(statement, columns)
