"""How long a desk keeps a requester's personal data after their ticket closed (GDPR 5(1)(e)).

Written in a desk's policy file as ``retention = "24 months"`` (days, months or years, calendar
time, not business time: the law counts calendar time). A requester's personal data is erased when
every ticket of theirs is closed and each one's desk's retention has passed since it closed; a
desk without ``retention`` keeps it until an erasure is asked for.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

_RETENTION = re.compile(r"\s*([1-9][0-9]{0,3})\s+(day|days|month|months|year|years)\s*")


@dataclass(frozen=True)
class Retention:
    count: int
    unit: str  # "days", "months" or "years"
    text: str

    def ends(self, closed_at: datetime) -> datetime:
        """When personal data of a ticket closed at ``closed_at`` is to be erased."""
        if self.unit == "days":
            return closed_at + timedelta(days=self.count)
        months = self.count * (12 if self.unit == "years" else 1)
        year, month = divmod(closed_at.month - 1 + months, 12)
        year += closed_at.year
        day = min(closed_at.day, calendar.monthrange(year, month + 1)[1])
        return closed_at.replace(year=year, month=month + 1, day=day)


def parse_retention(text: str) -> Retention:
    """``"24 months"`` and the like; ``ValueError`` naming the format otherwise."""
    found = _RETENTION.fullmatch(text)
    if found is None:
        raise ValueError(f"must be a number of days, months or years (e.g. \"24 months\"), "
                         f"not {text!r}")
    unit = found.group(2) if found.group(2).endswith("s") else found.group(2) + "s"
    return Retention(int(found.group(1)), unit, text.strip())
