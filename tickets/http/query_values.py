"""Checks for query parameters whose allowed values the type alone does not say."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from tickets.domain.errors import ValidationError
from tickets.output import iso, plain
from tickets.wire.envelope import parse_time


def one_of(name: str, values: Iterable[str] | None, allowed: Sequence[str]) -> list[str]:
    """Repeated or comma-separated values, each one of ``allowed``."""
    chosen = [v.strip() for value in values or () for v in value.split(",") if v.strip()]
    for value in chosen:
        if value not in allowed:
            raise ValidationError(f"{name} must be one of {', '.join(allowed)}, not {value!r}",
                                  field=name, rule="one_of")
    return chosen


def aware_time(name: str, text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(f"{name} {text!r} is not ISO 8601", field=name, rule="iso8601") from None
    if value.tzinfo is None:
        raise ValidationError(f"{name} must carry a time zone", field=name, rule="aware_time")
    return value


def stored_time(text: str | None) -> str | None:
    """A read model's time text (``format_time``) as the API writes times (``iso``).

    ``2026-11-16T10:00:00.000000Z`` becomes ``2026-11-16T10:00:00Z`` by slicing, as ``iso`` would
    write it; anything else takes the long way through ``parse_time``.
    """
    if text is None:
        return None
    if len(text) == 27 and text[19] == "." and text[26] == "Z":
        return text[:19] + "Z" if text[20:26] == "000000" else text
    return iso(parse_time(text))


#: ``json.dumps`` with these settings would make a new encoder on every call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=plain)


def to_json(value: Any) -> bytes:
    """JSON bytes; only values JSON lacks (times, ids, enums) go through ``plain``."""
    return _ENCODER.encode(value).encode()
