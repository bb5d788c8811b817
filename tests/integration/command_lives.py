"""Ticket lives as command messages (the intake topic's and the write API's), one command at a time.

A life is ``open``, then ``assign``, ``respond``, ``request_info``, and for a full life
``reply`` (for the requester), ``respond`` and ``close``. Everything but ``open`` names the
ticket, so a life's later commands are made once its opening's answer gives the number.
"""

from __future__ import annotations

import random
from typing import Any

from tickets.demo_profiles import opening

FULL, SHORT = 7, 4


def open_message(sender: str, index: int, rng: random.Random) -> dict[str, Any]:
    o = opening(rng, index)
    return {"command_id": f"{sender}-{index}-0", "type": "open", "desk": o.desk, "plan": o.plan,
            "category": o.category, "severity": o.severity, "requester": o.requester,
            "requester_role": o.role, "title": o.title, "fields": dict(o.fields)}


def later_message(sender: str, index: int, step: int, number: str, requester: str) -> dict[str, Any]:
    """The life's command number ``step`` (1 to 6) on ticket ``number``."""
    base = {"command_id": f"{sender}-{index}-{step}", "ticket": number}
    kind: dict[str, Any] = [
        {"type": "assign", "agent": "a-1"}, {"type": "respond"}, {"type": "request_info"},
        {"type": "reply", "actor": f"customer:{requester}"}, {"type": "respond"},
        {"type": "close", "reason": "resolved"},
    ][step - 1]
    return base | kind


def life_length(index: int) -> int:
    """Every third life stops at the request for information: its ticket stays open."""
    return SHORT if index % 3 == 0 else FULL
