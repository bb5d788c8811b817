"""Reading times people and services write: ISO 8601 with a zone, or a clear refusal."""

from __future__ import annotations

from datetime import datetime

from tickets.domain.errors import ValidationError


def parse_aware_time(text: str, field: str) -> datetime:
    """``text`` as an aware datetime; a ``ValidationError`` naming ``field`` otherwise."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            f"{text!r} is not an ISO 8601 time (like 2026-04-03T15:00:00Z)",
            field=field, rule="iso8601",
        ) from None
    if value.tzinfo is None:
        raise ValidationError(
            f"{text!r} has no time zone: add Z or an offset like +02:00",
            field=field, rule="aware_time",
        )
    return value
