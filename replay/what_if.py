"""What-if SLA replay: a desk's tickets of a period, their clocks under their own policy and under another.

The other policy is a policy file (``load_desk``: a file that does not parse is a ``PolicyError``
naming file, key and reason): a changed target, another plan's table (``plan=`` evaluates every
ticket under one plan), an added holiday. Each ticket's history up to the end of the period is
folded once and its clocks computed twice, as of that end; nothing is written, so the live
projections stay untouched. The "before" side is the policy version each ticket was opened under
(``Opened.policy_version``): the figures the ticket ran under, which a later version of the desk's
file does not change. Every outcome names the policy and calendar versions it was computed under,
on both sides.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from os import PathLike
from uuid import UUID

from tickets.application.desk import TicketDesk
from tickets.application.policy_files import load_desk
from tickets.domain.errors import PolicyError, TicketError, ValidationError
from tickets.domain.facts import fold_all
from tickets.domain.policy import Desk
from tickets.domain.sla import SlaReport, TargetClock, compute
from tickets.domain.ticket import OPENED_TOPICS


@dataclass(frozen=True)
class Side:
    """One clock as one policy computes it (``state`` "absent": that policy sets no such target)."""

    state: str
    due: datetime | None
    policy_version: int
    calendar: str | None
    calendar_version: int | None


@dataclass(frozen=True)
class Outcome:
    kind: str
    before: Side
    after: Side

    @property
    def changed(self) -> bool:
        return (self.before.state, self.before.due) != (self.after.state, self.after.due)


@dataclass(frozen=True)
class TicketOutcome:
    ticket_id: UUID
    number: str
    plan: str
    severity: str
    outcomes: list[Outcome]
    not_compared: str | None = None  # why the other policy cannot judge this ticket

    @property
    def changed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.changed]


@dataclass
class WhatIf:
    desk: str
    policy_file: str
    since: datetime
    until: datetime
    live_version: int  # the desk's current version; each ticket's "before" is its own version
    other_version: int
    tickets: list[TicketOutcome] = field(default_factory=list)

    def totals(self) -> dict[str, object]:
        moves: Counter[str] = Counter()
        for ticket in self.tickets:
            for o in ticket.changed:
                moves[f"{o.kind}: {o.before.state} -> {o.after.state}"] += 1
        breached = [sum(1 for t in self.tickets for o in t.outcomes if getattr(o, side).state == "breached")
                    for side in ("before", "after")]
        return {
            "tickets": len(self.tickets),
            "tickets_changed": sum(1 for t in self.tickets if t.changed),
            "not_compared": sum(1 for t in self.tickets if t.not_compared),
            "outcomes_changed": sum(moves.values()),
            "breached_before": breached[0], "breached_after": breached[1],
            "changes": dict(sorted(moves.items())),
        }


def _side(clock: TargetClock | None, report: SlaReport) -> Side:
    if clock is None:
        return Side("absent", None, report.policy_version, None, None)
    return Side(clock.state.value, clock.due, clock.policy_version, clock.calendar,
                clock.calendar_version)


def _outcomes(before: SlaReport, after: SlaReport) -> list[Outcome]:
    kinds = [c.kind for c in before.clocks] + [c.kind for c in after.clocks
                                               if before.clock(c.kind) is None]
    return [Outcome(k, _side(before.clock(k), before), _side(after.clock(k), after)) for k in kinds]


def opened_in(app: TicketDesk, desk: str, since: datetime, until: datetime) -> Iterator[UUID]:
    """The desk's tickets opened in [since, until), in the order they were opened."""
    start = 1
    while batch := app.recorder.select_notifications(
        start=start, limit=app.log_section_size, topics=OPENED_TOPICS
    ):
        for notification in batch:
            opened = app.mapper.to_domain_event(notification).__dict__
            if opened["desk"] == desk and since <= opened["occurred_at"] < until:
                yield opened["originator_id"]
        start = batch[-1].id + 1


def what_if(
    app: TicketDesk, policy_file: str | PathLike[str], since: datetime, until: datetime, *,
    plan: str | None = None,
) -> WhatIf:
    other: Desk = load_desk(policy_file)
    live = app.catalogue.desk(other.id)
    if since >= until:
        raise ValidationError("until must be after since", field="until", rule="after_since")
    if plan is not None and plan not in other.plans:
        raise PolicyError(f"has no plan {plan!r}; plans: {', '.join(other.plans)}",
                          file=str(policy_file), key="plans")
    result = WhatIf(other.id, str(policy_file), since, until, live.version, other.version)
    for ticket_id in opened_in(app, other.id, since, until):
        facts = fold_all(e for e in app.history(ticket_id) if e.occurred_at < until)
        before = compute(facts, app.catalogue.desk(facts.desk, facts.policy_version), until)
        alternative = replace(facts, plan=plan) if plan is not None else facts
        try:
            after = compute(alternative, other, until)
        except TicketError as error:  # the other policy lacks the ticket's plan
            result.tickets.append(TicketOutcome(ticket_id, facts.number, alternative.plan,
                                                facts.severity, [], str(error)))
            continue
        result.tickets.append(TicketOutcome(ticket_id, facts.number, alternative.plan,
                                            facts.severity, _outcomes(before, after)))
    return result
