"""A column of a batched statement as a PostgreSQL binary array, encoded without psycopg's list dumper.

psycopg dumps a list parameter element by element in Python (a dumper call, a length and a buffer
per value): for the read store's batched writes (``projections.pg_batches``: a dozen columns of a
few thousand values per batch) that was a tenth of the consumer's time. Here a column of ``str``,
``int`` or ``float`` values (None for NULL) becomes the array's wire format (``array_recv``: a
header, then each element's length and bytes) in a few passes of C-level functions, wrapped in a
type whose dumper hands those bytes to psycopg as they are.

Values the encoding cannot take as psycopg would — text with a NUL character (PostgreSQL refuses
it) or that is not valid Unicode, an integer outside 64 bits — give None: the caller then lets
psycopg send the rows one by one, which raises the error psycopg raises.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from psycopg.adapt import Dumper
from psycopg.pq import Format

_HEAD = struct.Struct(">iiiii").pack  # dimensions (1), has nulls, element type, length, lower bound
_EMPTY = struct.Struct(">iii").pack  # no dimensions, no nulls, element type
_LENGTH = struct.Struct(">i").pack
_NULL = _LENGTH(-1)
_INT8 = struct.Struct(">iq").pack
_FLOAT8 = struct.Struct(">id").pack


class EncodedArray:
    """An array parameter already in PostgreSQL's binary format."""

    __slots__ = ("data",)
    element_oid = 0

    def __init__(self, data: bytes) -> None:
        self.data = data


class TextArray(EncodedArray):
    element_oid = 25


class BigintArray(EncodedArray):
    element_oid = 20


class DoubleArray(EncodedArray):
    element_oid = 701


def _dumper(array_oid: int) -> type[Dumper]:
    class EncodedDumper(Dumper):
        format = Format.BINARY
        oid = array_oid

        def dump(self, obj: Any) -> bytes:
            return bytes(obj.data)

    return EncodedDumper


for _kind, _oid in ((TextArray, 1009), (BigintArray, 1016), (DoubleArray, 1022)):
    psycopg.adapters.register_dumper(_kind, _dumper(_oid))


def _text(values: Sequence[str | None]) -> bytes | None:
    if None in values:
        present = [v for v in values if v is not None]
        if "\x00" in "".join(present):
            return None
        return b"".join(_NULL if v is None else _LENGTH(len(b := v.encode())) + b for v in values)
    if "\x00" in "".join(values):  # type: ignore[arg-type]  # no None: checked above
        return None
    encoded = [v.encode() for v in values]  # type: ignore[union-attr]
    parts: list[bytes] = [b""] * (2 * len(encoded))
    parts[0::2] = map(_LENGTH, map(len, encoded))
    parts[1::2] = encoded
    return b"".join(parts)


def _fixed(pack: Callable[[int, Any], bytes]) -> Callable[[Sequence[Any]], bytes]:
    def encode(values: Sequence[Any]) -> bytes:
        return b"".join(_NULL if v is None else pack(8, v) for v in values)

    return encode


_ENCODERS: dict[type[EncodedArray], Callable[[Sequence[Any]], bytes | None]] = {
    TextArray: _text, BigintArray: _fixed(_INT8), DoubleArray: _fixed(_FLOAT8),
}
#: The array type of each column type ``encode`` takes.
KINDS: dict[str, type[EncodedArray]] = {
    "text": TextArray, "bigint": BigintArray, "double precision": DoubleArray,
}


def encode(kind: type[EncodedArray], values: Sequence[Any]) -> EncodedArray | None:
    """``values`` (all ``str``, all ``int`` or all ``float`` as ``kind`` says, or None) as one array.

    None when a value cannot be sent this way (see the module's docstring).
    """
    if not values:
        return kind(_EMPTY(0, 0, kind.element_oid))
    try:
        body = _ENCODERS[kind](values)
    except (UnicodeEncodeError, struct.error):
        return None
    if body is None:
        return None
    has_null = 1 if None in values else 0
    return kind(_HEAD(1, has_null, kind.element_oid, len(values), 1) + body)
