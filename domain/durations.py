"""Durations as written in policy files: "4 hours", "90m", "1h 30m", "2.5 working days"."""

from __future__ import annotations

import re
from datetime import timedelta

from tickets.domain.calendar import BusinessCalendar

_TERM = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+(?:\s+[a-z]+)?)")
_UNITS = {
    "h": "hours", "hr": "hours", "hrs": "hours", "hour": "hours", "hours": "hours",
    "m": "minutes", "min": "minutes", "mins": "minutes", "minute": "minutes", "minutes": "minutes",
    "working day": "working_days", "working days": "working_days",
}


def parse_duration(text: str, calendar: BusinessCalendar | None) -> timedelta:
    """Read "4 hours", "90m", "1h 30m" or "2.5 working days" as business time on ``calendar``.

    Hours and minutes are taken as written; "N working days" is ``calendar.working_days(N)``
    (refused when ``calendar`` is None). Raises ``ValueError`` with the reason.
    """
    plain, working_days, pos = timedelta(), 0.0, 0
    words = text.strip().lower()
    if not words:
        raise ValueError(_duration_hint(text))
    while pos < len(words):
        term = _TERM.match(words, pos)
        unit = _UNITS.get(" ".join(term.group(2).split())) if term else None
        if term is None or unit is None:
            raise ValueError(_duration_hint(text))
        amount, pos = float(term.group(1)), term.end()
        if unit == "working_days":
            working_days += amount
        else:
            plain += timedelta(**{unit: amount})
    if plain <= timedelta() and working_days == 0:
        raise ValueError(f"duration {text!r} must be longer than zero")
    if working_days and calendar is None:
        raise ValueError(f"{text!r}: working days need a calendar; write hours or minutes here")
    if working_days and calendar is not None:
        plain += calendar.working_days(working_days)
    return plain


def _duration_hint(text: str) -> str:
    if re.search(r"\d\s*(d|days?|weeks?)\b", text.lower()) and "working" not in text.lower():
        return (f"cannot read {text!r} as a duration: calendar days are not business time; "
                "write 'N working days' or hours")
    return (f"cannot read {text!r} as a duration; write e.g. '4 hours', '30 minutes', '90m', "
            "'1h 30m' or '2.5 working days'")
