"""The names under which events are stored, old and new.

eventsourcing stores each event under its class's topic, ``module:QualName``. Until the layers were
installed under one import name the modules were top-level, so stores written then hold
``domain.ticket:Ticket.Opened`` where a store written now holds
``tickets.domain.ticket:Ticket.Opened``. Registering the old module prefix (eventsourcing's
``register_topic``, made for moved classes) makes every old topic resolve to today's class, and
``stored_topics`` gives both names wherever the notification log is filtered by topic, so a store
of either age, or one holding both, is read the same.
"""

from __future__ import annotations

import importlib
from typing import Any

from eventsourcing.utils import get_topic, register_topic

#: The import name of this package before the move, and now.
LEGACY_PACKAGE = "domain"
PACKAGE = "tickets.domain"

register_topic(LEGACY_PACKAGE, importlib.import_module(PACKAGE))


def legacy_topic(topic: str) -> str | None:
    """The name the same class was stored under before the move (None if it was not ours)."""
    if topic.startswith(PACKAGE + "."):
        return LEGACY_PACKAGE + topic[len(PACKAGE):]
    return None


def stored_topics(*classes: type[Any]) -> list[str]:
    """Every topic the events of ``classes`` may be stored under: today's, then the old one."""
    topics = [get_topic(cls) for cls in classes]
    return topics + [old for old in map(legacy_topic, topics) if old is not None]
