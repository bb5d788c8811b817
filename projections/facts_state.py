"""A projection's own copy of each ticket's ``TicketFacts``: stored as JSON text, folded per batch.

Projections that need the SLA clock keep the facts they folded in a table of their own, so each
rebuilds on its own and none reads another's rows. The facts are the domain's single fold
(``domain.facts.fold``); this module only stores them and runs that fold over a batch.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from tickets.domain.facts import FoldError, TicketFacts
from tickets.projections.base import SetAside
from tickets.projections.envelope import Envelope, format_time, parse_time
from tickets.projections.readstore import Tx

S = TypeVar("S")

_TIMES = ("opened_at", "last_occurred_at", "first_response_at", "last_agent_reply_at",
          "pending_since", "warned_at", "closed_at")
_SPANS = ("info_pauses", "closed_spans")
#: Ids per ``IN (...)`` list: one query for a default batch, well inside every driver's limit.
CHUNK = 1000


_NAMES = tuple(sorted(f.name for f in fields(TicketFacts)))
_ENCODE = json.JSONEncoder(separators=(",", ":")).encode


def _text(value: datetime | None) -> str | None:
    return None if value is None else format_time(value)


def dump_facts(facts: TicketFacts) -> str:
    """The facts as canonical JSON text (keys sorted); times in the envelope's fixed ISO format."""
    raw = dict(facts.__dict__)
    raw["ticket_id"] = str(facts.ticket_id)
    for name in _TIMES:
        raw[name] = _text(raw[name])
    for name in _SPANS:
        raw[name] = [[format_time(start), _text(end)] for start, end in raw[name]]
    raw["severity_changes"] = [
        [format_time(when), severity, reason] for when, severity, reason in facts.severity_changes
    ]
    raw["escalated_for"] = list(facts.escalated_for)
    return _ENCODE({name: raw[name] for name in _NAMES})


def load_facts(text: str) -> TicketFacts:
    raw: dict[str, Any] = json.loads(text)
    values = dict(raw)
    values["ticket_id"] = UUID(raw["ticket_id"])
    for name in _TIMES:
        values[name] = _time(raw[name])
    for name in _SPANS:
        values[name] = tuple((parse_time(start), _time(end)) for start, end in raw[name])
    values["severity_changes"] = tuple(
        (parse_time(when), severity, reason) for when, severity, reason in raw["severity_changes"]
    )
    values["escalated_for"] = tuple(raw["escalated_for"])
    return TicketFacts(**values)


def _time(text: str | None) -> datetime | None:
    return None if text is None else parse_time(text)


def select_in(tx: Tx, sql: str, ids: Sequence[str]) -> list[tuple[Any, ...]]:
    """Run ``sql`` (which holds one ``IN ({marks})``) for ``ids``, ``CHUNK`` ids per query."""
    rows: list[tuple[Any, ...]] = []
    for start in range(0, len(ids), CHUNK):
        part = ids[start:start + CHUNK]
        rows += tx.execute(sql.format(marks=",".join("?" * len(part))), part)
    return rows


def fold_batch(
    states: Mapping[str, S], batch: Iterable[Envelope], step: Callable[[S | None, Envelope], S],
) -> tuple[dict[str, S], dict[str, Envelope], list[SetAside]]:
    """Fold each envelope into its ticket's state, in order.

    Returns the new states, the last envelope applied per ticket, and the envelopes set aside:
    those the fold refuses (unknown type, a gap in versions) and those whose payload lacks what
    their type needs, so that one bad event never stops the feed.
    """
    folded = dict(states)
    last: dict[str, Envelope] = {}
    aside: list[SetAside] = []
    for envelope in batch:
        try:
            folded[envelope.ticket_id] = step(folded.get(envelope.ticket_id), envelope)
        except FoldError as error:
            aside.append(SetAside(envelope, f"{error.rule}: {error}"))
            continue
        except (KeyError, TypeError, ValueError) as error:
            aside.append(SetAside(envelope, f"malformed {envelope.type} payload: {error!r}"))
            continue
        last[envelope.ticket_id] = envelope
    return folded, last, aside
