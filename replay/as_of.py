"""A ticket as of a moment: its state and SLA clocks as of a time or a version, with each event up to it.

Everything is folded from the event store by the domain's own ``fold`` and ``compute``, so the
answer is what the engine would have said then. "As of a time" counts the events that *occurred*
(``occurred_at``) at or before it; each event also shows when it was recorded. The clocks are
computed under the desk's current policy, whose version (and each calendar's) the report names.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any
from uuid import UUID

from tickets.application.desk import TicketDesk
from tickets.domain.errors import ValidationError
from tickets.domain.facts import TicketFacts, fold
from tickets.domain.history import HistoryEntry
from tickets.domain.personal import Opener
from tickets.domain.sla import SlaReport, compute
from tickets.replay.personal import shown_payload
from tickets.wire.envelope import wire_value


@dataclass(frozen=True)
class Step:
    """One event and what it changed in the ticket's state: field → (before, after)."""

    entry: HistoryEntry
    changes: dict[str, tuple[Any, Any]]


@dataclass(frozen=True)
class AsOf:
    ticket_id: UUID
    number: str
    moment: datetime  # the clocks are computed as of this time
    version: int
    facts: TicketFacts
    report: SlaReport
    steps: list[Step]


def state_of(facts: TicketFacts | None) -> dict[str, Any]:
    """The folded state as JSON-ready values, field by field (empty before the first event)."""
    if facts is None:
        return {}
    return {f.name: wire_value(getattr(facts, f.name)) for f in fields(facts)}


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {k: (before.get(k), v) for k, v in after.items() if before.get(k) != v}


def _chosen(
    entries: list[HistoryEntry], number: str, at: datetime | None, version: int | None
) -> list[HistoryEntry]:
    if (at is None) == (version is None):
        raise ValidationError("give either a time or a version", field="at", rule="time_or_version")
    if version is not None:
        if not 1 <= version <= len(entries):
            raise ValidationError(
                f"it has versions 1 to {len(entries)}, not {version}",
                field="version", rule="known_version", ticket=number,
            )
        return entries[:version]
    assert at is not None
    if at.tzinfo is None:
        raise ValidationError("the time needs a time zone", field="at", rule="aware_time")
    chosen = [e for e in entries if e.occurred_at <= at]
    if not chosen:
        raise ValidationError(
            f"it was opened at {entries[0].occurred_at.isoformat()}; {at.isoformat()} is before "
            "it existed",
            field="at", rule="not_before_opening", ticket=number,
        )
    return chosen


def as_of(
    desk: TicketDesk, ref: str | UUID, *, at: datetime | None = None, version: int | None = None,
    unmask: bool = False,
) -> AsOf:
    """The ticket as of ``at`` (occurred at or before) or as of ``version``; exactly one is given."""
    entries = desk.history(ref)
    number = entries[0].payload["number"]
    chosen = _chosen(entries, number, at, version)
    steps: list[Step] = []
    facts: TicketFacts | None = None
    for entry in chosen:
        after = fold(facts, entry)
        shown = _shown(entry, unmask, desk.personal)
        steps.append(Step(shown, diff(state_of(facts), state_of(after))))
        facts = after
    assert facts is not None
    moment = at if at is not None else chosen[-1].occurred_at
    report = compute(facts, desk.catalogue.desk(facts.desk, facts.policy_version), moment, explain=True)
    return AsOf(facts.ticket_id, facts.number, moment, facts.version, facts, report, steps)


def _shown(entry: HistoryEntry, unmask: bool, opener: Opener) -> HistoryEntry:
    payload, changed = shown_payload(entry.payload, unmask, opener)
    if not changed:
        return entry
    return HistoryEntry(entry.ticket_id, entry.version, entry.type, entry.occurred_at,
                        entry.recorded_at, entry.actor, entry.channel, payload)
