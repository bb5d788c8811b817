"""The Ticket aggregate: commands check the rules, ``@event`` methods record what happened.

Each public command runs its ``check_*`` rules first and then calls a private method decorated
with the past-tense event it records; the method's signature is the event's payload. What an
event does to the ticket is stated once, in ``domain.facts`` (``fold``): the aggregate's one
frozen ``TicketState`` is ``domain.ticket_state.evolve`` over each applied event's
``HistoryEntry`` (the very entry ``TicketDesk.history`` gives and the envelope carries), in order;
an event's ``apply`` records it and the state is folded when next read (``FoldOnRead``). The
aggregate's attributes are read-only views of that state. The evolve runs again on replay, so it
never reads a clock, makes ids or does I/O. ``now`` (for the "not in the future"
rule) and the desk policy are passed in by the application.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from tickets.domain.actor import Actor
from tickets.domain.errors import (
    EntitlementError,
    LifecycleError,
    TicketError,
    TimeOrderError,
    ValidationError,
)
from tickets.domain.numbers import ticket_id_for
from tickets.domain.policy import Desk
from tickets.domain.stored_topics import stored_topics
from tickets.domain.ticket_state import TicketStateViews, record

#: How far ahead of the engine's clock a source's ``occurred_at`` may be (clock skew between services).
FUTURE_TOLERANCE = timedelta(seconds=2)

SEVERITY_REASONS = ("triage", "customer_could_not_cooperate", "reclassified")
ESCALATION_REASONS = ("rule", "at_risk", "breach", "complaint", "by_hand")
#: The reasons the scheduler escalates for, on a plan with ``auto_escalation`` only.
AUTOMATIC_REASONS = ("at_risk", "breach")
CLOSE_REASONS = ("resolved", "closed_by_requester", "no_reply")


class Ticket(Aggregate, TicketStateViews):
    """One support ticket's life, from opening to closing (and reopening where the desk allows)."""

    class_version = 1

    class Event(Aggregate.Event):
        class_version = 1
        occurred_at: datetime
        actor: str
        channel: str

        def apply(self, aggregate: Ticket) -> None:
            aggregate._evolve(self)

    class Opened(Aggregate.Created):
        """v2 moved the contact details from their own fields into ``fields``."""

        class_version = 2
        occurred_at: datetime
        actor: str
        channel: str
        number: str
        desk: str
        policy_version: int
        plan: str
        category: str
        severity: str
        requester: str
        requester_role: str
        title: str
        fields: dict[str, str]
        # ``level`` (the level the ticket starts at, when the plan sends the requester's role
        # past the front line) was added without a new class version: events stored without
        # it start at the front line, and their stored payload (and hash) stays as written.
        level: str

        def apply(self, aggregate: Ticket) -> None:
            aggregate._evolve(self)

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            fields = dict(state.get("fields") or {})
            for key in ("contact_name", "contact_email", "contact_phone"):
                value = state.pop(key, None)
                if value is not None:
                    fields[key] = value
            state["fields"] = fields

    class SeveritySet(Event):
        severity: str
        previous: str
        reason: str

    class Assigned(Event):
        agent: str
        level: str

    class Responded(Event):
        pass

    class InfoRequested(Event):
        replaces: datetime | None

    class CustomerReplied(Event):
        pass

    class Escalated(Event):
        level: str
        previous: str
        reason: str
        target: str | None  # the SLA target whose risk or breach fired it, if any

    class AutoCloseWarned(Event):
        closes_at: datetime

    class Closed(Event):
        reason: str

    class Reopened(Event):
        reason: str

    @staticmethod
    def create_id(number: str) -> UUID:
        return ticket_id_for(number)

    def __deepcopy__(self, memo: dict[int, Any]) -> Ticket:
        """A fast copy for the repository's cache: the state is one frozen ``TicketState`` and
        the library's own fields are immutable values or flat lists of them, so copying the
        containers is enough. The state is folded first, on the original, so that the cached
        ticket keeps the fold of the events it was fast-forwarded by and folds each only once."""
        self.__dict__["_state"] = self._state
        clone = object.__new__(type(self))
        clone.__dict__.update({
            key: value.copy() if isinstance(value, list | dict) else value
            for key, value in self.__dict__.items()
        })
        return clone

    # ---- state -------------------------------------------------------------------------

    def _evolve(self, domain_event: Ticket.Event | Ticket.Opened) -> None:
        """The one state change every event makes: ``evolve`` over the event's history entry,
        folded when the state is next read (``domain.ticket_state.FoldOnRead``)."""
        record(self.__dict__, domain_event)

    @event(Opened)
    def __init__(
        self, occurred_at: datetime, actor: str, channel: str, number: str, desk: str,
        policy_version: int, plan: str, category: str, severity: str, requester: str,
        requester_role: str, title: str, fields: dict[str, str], level: str = "front_line",
    ) -> None:
        """Records ``Opened``; ``apply`` evolves the state (see the module's docstring)."""

    # ---- rules -------------------------------------------------------------------------

    def _refuse(self, error: type[TicketError], message: str, field: str, rule: str) -> TicketError:
        return error(message, field=field, rule=rule, ticket=self.number)

    def check_time(self, at: datetime, now: datetime) -> None:
        """``at`` is aware, not in the future, and not before the ticket's previous event."""
        check_occurred_at(at, now, ticket=self.number)
        if at < self.last_occurred_at:
            raise self._refuse(
                TimeOrderError,
                f"occurred_at {at.isoformat()} is before the ticket's previous event "
                f"({self.last_occurred_at.isoformat()})",
                "occurred_at", "not_before_previous_event",
            )

    def check_not_closed(self, command: str) -> None:
        if self.status == "closed":
            raise self._refuse(
                LifecycleError, f"cannot {command} a closed ticket", "status", "ticket_closed"
            )

    def check_role(self, actor: Actor, allowed: tuple[str, ...], command: str) -> None:
        if actor.role not in allowed:
            raise self._refuse(
                EntitlementError,
                f"a {actor.role} may not {command}; allowed: {', '.join(allowed)}",
                "actor", f"{command.replace(' ', '_')}_role",
            )

    def check_is_requester(self, actor: Actor) -> None:
        """Only the requester, or a service acting for them, speaks for the customer."""
        if actor.role == "service":
            return
        if actor.role != "customer" or actor.id != self.requester:
            raise self._refuse(
                EntitlementError,
                "only the requester (or a service acting for them) may do this",
                "actor", "requester_only",
            )

    def check_plan_escalates_automatically(self, desk: Desk) -> None:
        """Only a plan that promises automatic escalation is escalated by the engine itself.

        Elsewhere a risk or a breach is shown for a person to act on; this refusal also stops a
        timer computed before the rule held (an old read-model row) from escalating.
        """
        if not desk.plan(self.plan).auto_escalation:
            raise self._refuse(
                EntitlementError,
                f"plan {self.plan} of desk {desk.id} has no automatic escalation; "
                "a person escalates its tickets",
                "reason", "auto_escalation_in_plan",
            )

    def check_desk(self, desk: Desk) -> None:
        if desk.id != self.desk:
            raise ValueError(f"ticket {self.number} belongs to desk {self.desk}, not {desk.id}")

    # ---- commands ----------------------------------------------------------------------

    def set_severity(
        self, severity: str, reason: str, *, desk: Desk, at: datetime, now: datetime,
        actor: Actor, channel: str,
    ) -> None:
        self.check_desk(desk)
        self.check_not_closed("change the severity of")
        self.check_time(at, now)
        self.check_role(actor, ("agent", "service", "system"), "set severity")
        if reason not in SEVERITY_REASONS:
            raise self._refuse(
                ValidationError, f"reason must be one of {', '.join(SEVERITY_REASONS)}",
                "reason", "known_severity_reason",
            )
        try:
            desk.check_severity_allowed(self.plan, self.category, severity)
        except EntitlementError as error:
            error.ticket = self.number
            raise
        if severity == self.severity:
            raise self._refuse(
                LifecycleError, f"severity is already {severity}", "severity", "severity_unchanged"
            )
        plan = desk.plan(self.plan)
        if reason == "customer_could_not_cooperate" and plan.rank(severity) < plan.rank(
            self.severity
        ):
            raise self._refuse(
                EntitlementError,
                "when the customer cannot cooperate the severity may only be lowered",
                "severity", "lower_only_when_customer_cannot_cooperate",
            )
        self._severity_set(
            occurred_at=at, actor=str(actor), channel=channel, severity=severity,
            previous=self.severity, reason=reason,
        )

    @event(SeveritySet)
    def _severity_set(
        self, occurred_at: datetime, actor: str, channel: str, severity: str, previous: str,
        reason: str,
    ) -> None:
        """Records ``SeveritySet``; ``apply`` evolves the state (see the module's docstring)."""

    def assign(
        self, agent: str, level: str, *, desk: Desk, at: datetime, now: datetime, actor: Actor,
        channel: str,
    ) -> None:
        self.check_desk(desk)
        self.check_not_closed("assign")
        self.check_time(at, now)
        self.check_role(actor, ("agent", "service", "system"), "assign")
        Actor("agent", agent)  # validates the id's shape
        if level not in desk.escalation_levels:
            raise self._refuse(
                ValidationError, f"level must be one of {', '.join(desk.escalation_levels)}",
                "level", "known_level",
            )
        self._assigned(occurred_at=at, actor=str(actor), channel=channel, agent=agent, level=level)

    @event(Assigned)
    def _assigned(
        self, occurred_at: datetime, actor: str, channel: str, agent: str, level: str
    ) -> None:
        """Records ``Assigned``; ``apply`` evolves the state (see the module's docstring)."""

    def respond(self, *, at: datetime, now: datetime, actor: Actor, channel: str) -> None:
        self.check_not_closed("respond to")
        self.check_time(at, now)
        self.check_role(actor, ("agent", "service"), "respond")
        self._responded(occurred_at=at, actor=str(actor), channel=channel)

    @event(Responded)
    def _responded(self, occurred_at: datetime, actor: str, channel: str) -> None:
        """Records ``Responded``; ``apply`` evolves the state (see the module's docstring)."""

    def request_info(
        self, *, at: datetime, now: datetime, actor: Actor, channel: str, replace: bool = False
    ) -> None:
        """Ask the customer for information: status "action needed", the clock pauses.

        A second request while one is pending is refused unless ``replace`` is set, in which
        case it replaces the pending one and the auto-close countdown starts again.
        """
        self.check_not_closed("request information on")
        self.check_time(at, now)
        self.check_role(actor, ("agent", "service"), "request information")
        if self.pending_info_since is not None and not replace:
            raise self._refuse(
                LifecycleError,
                f"information was already requested at {self.pending_info_since.isoformat()}; "
                "pass replace to ask again and restart the auto-close countdown",
                "status", "info_request_pending",
            )
        self._info_requested(
            occurred_at=at, actor=str(actor), channel=channel, replaces=self.pending_info_since
        )

    @event(InfoRequested)
    def _info_requested(
        self, occurred_at: datetime, actor: str, channel: str, replaces: datetime | None
    ) -> None:
        """Records ``InfoRequested``; ``apply`` evolves the state (see the module's docstring)."""

    def customer_reply(self, *, at: datetime, now: datetime, actor: Actor, channel: str) -> None:
        self.check_not_closed("reply to")
        self.check_time(at, now)
        self.check_is_requester(actor)
        self._customer_replied(occurred_at=at, actor=str(actor), channel=channel)

    @event(CustomerReplied)
    def _customer_replied(self, occurred_at: datetime, actor: str, channel: str) -> None:
        """Records ``CustomerReplied``; ``apply`` evolves the state (see the module's docstring)."""

    def escalate(
        self, level: str | None, reason: str, *, desk: Desk, at: datetime, now: datetime,
        actor: Actor, channel: str, target: str | None = None,
    ) -> None:
        """Move the ticket up a level; complaints go to the service manager (the top level).

        An escalation fired for an SLA target's risk or breach happens once per (reason, target).
        """
        self.check_desk(desk)
        self.check_not_closed("escalate")
        self.check_time(at, now)
        if reason not in ESCALATION_REASONS:
            raise self._refuse(
                ValidationError, f"reason must be one of {', '.join(ESCALATION_REASONS)}",
                "reason", "known_escalation_reason",
            )
        if target is not None and f"{reason}:{target}" in self.escalated_for:
            raise self._refuse(
                LifecycleError, f"already escalated for {reason} of {target}", "target",
                "escalated_once_per_target",
            )
        if actor.role == "system" and reason in AUTOMATIC_REASONS:
            self.check_plan_escalates_automatically(desk)
        levels = desk.escalation_levels
        if reason == "complaint":
            level = level or levels[-1]
            if actor.role == "customer":
                self.check_is_requester(actor)
        else:
            self.check_role(actor, ("agent", "service", "system"), "escalate")
        current = levels.index(self.level) if self.level in levels else 0
        if level is None:
            level = levels[min(current + 1, len(levels) - 1)]
        if level not in levels:
            raise self._refuse(
                ValidationError, f"level must be one of {', '.join(levels)}", "level", "known_level"
            )
        if levels.index(level) <= current:
            raise self._refuse(
                LifecycleError, f"the ticket is already at {self.level}", "level",
                "already_at_level",
            )
        self._escalated(
            occurred_at=at, actor=str(actor), channel=channel, level=level, previous=self.level,
            reason=reason, target=target,
        )

    @event(Escalated)
    def _escalated(
        self, occurred_at: datetime, actor: str, channel: str, level: str, previous: str,
        reason: str, target: str | None,
    ) -> None:
        """Records ``Escalated``; ``apply`` evolves the state (see the module's docstring)."""

    def auto_close_due(self, desk: Desk) -> tuple[datetime, datetime] | None:
        """(warn at, close at) for the pending information request, on the desk's calendar."""
        if self.pending_info_since is None:
            return None
        rule = desk.inactivity
        return (
            rule.calendar.add(self.pending_info_since, rule.warn_after),
            rule.calendar.add(self.pending_info_since, rule.close_after),
        )

    def warn_auto_close(
        self, *, desk: Desk, at: datetime, now: datetime, actor: Actor, channel: str
    ) -> None:
        self.check_desk(desk)
        self.check_not_closed("warn about closing")
        self.check_time(at, now)
        self.check_role(actor, ("system",), "warn about auto-close")
        due = self.auto_close_due(desk)
        if due is None:
            raise self._refuse(
                LifecycleError, "no information request is pending", "status", "no_pending_request"
            )
        if self.auto_close_warned_at is not None:
            raise self._refuse(
                LifecycleError, "the requester was already warned", "status", "already_warned"
            )
        if at < due[0]:
            raise self._refuse(
                LifecycleError, f"the warning is not due before {due[0].isoformat()}",
                "occurred_at", "warning_not_due",
            )
        self._auto_close_warned(occurred_at=at, actor=str(actor), channel=channel, closes_at=due[1])

    @event(AutoCloseWarned)
    def _auto_close_warned(
        self, occurred_at: datetime, actor: str, channel: str, closes_at: datetime
    ) -> None:
        """Records ``AutoCloseWarned``; ``apply`` evolves the state (see the module's docstring)."""

    def close(
        self, reason: str, *, desk: Desk, at: datetime, now: datetime, actor: Actor, channel: str
    ) -> None:
        self.check_desk(desk)
        if self.status == "closed":
            raise self._refuse(LifecycleError, "the ticket is already closed", "status", "closed_once")
        self.check_time(at, now)
        if reason not in CLOSE_REASONS:
            raise self._refuse(
                ValidationError, f"reason must be one of {', '.join(CLOSE_REASONS)}",
                "reason", "known_close_reason",
            )
        if reason == "closed_by_requester":
            self.check_is_requester(actor)
        elif reason == "resolved":
            self.check_role(actor, ("agent", "service"), "resolve")
        else:
            self.check_no_reply_close(desk, at, actor)
        self._closed(occurred_at=at, actor=str(actor), channel=channel, reason=reason)

    def check_no_reply_close(self, desk: Desk, at: datetime, actor: Actor) -> None:
        """Auto-close only when a request is pending, the requester was warned, and it is due."""
        self.check_role(actor, ("system",), "close for no reply")
        due = self.auto_close_due(desk)
        if due is None:
            raise self._refuse(
                LifecycleError, "no information request is pending", "status", "no_pending_request"
            )
        if self.auto_close_warned_at is None:
            raise self._refuse(
                LifecycleError, "the requester has not been warned yet", "status", "not_warned"
            )
        if at < due[1]:
            raise self._refuse(
                LifecycleError, f"auto-close is not due before {due[1].isoformat()}",
                "occurred_at", "auto_close_not_due",
            )

    @event(Closed)
    def _closed(self, occurred_at: datetime, actor: str, channel: str, reason: str) -> None:
        """Records ``Closed``; ``apply`` evolves the state (see the module's docstring)."""

    def reopen(
        self, reason: str, *, desk: Desk, at: datetime, now: datetime, actor: Actor, channel: str
    ) -> None:
        self.check_desk(desk)
        if self.status != "closed" or self.closed_at is None:
            raise self._refuse(LifecycleError, "the ticket is not closed", "status", "not_closed")
        self.check_time(at, now)
        if actor.role == "customer":
            self.check_is_requester(actor)
        if desk.reopen_within is None:
            raise self._refuse(
                LifecycleError,
                f"desk {desk.id} does not reopen closed tickets; open a new ticket",
                "status", "reopen_not_allowed",
            )
        deadline = desk.inactivity.calendar.add(self.closed_at, desk.reopen_within)
        if at > deadline:
            raise self._refuse(
                LifecycleError, f"tickets can be reopened until {deadline.isoformat()}",
                "occurred_at", "reopen_window_passed",
            )
        if not reason.strip():
            raise self._refuse(ValidationError, "a reason is required", "reason", "required")
        self._reopened(occurred_at=at, actor=str(actor), channel=channel, reason=reason)

    @event(Reopened)
    def _reopened(self, occurred_at: datetime, actor: str, channel: str, reason: str) -> None:
        """Records ``Reopened``; ``apply`` evolves the state (see the module's docstring)."""


#: Every event class of the ticket, and every topic they may be stored under (old and new names).
TICKET_EVENT_CLASSES: tuple[type[Any], ...] = (
    Ticket.Opened, Ticket.SeveritySet, Ticket.Assigned, Ticket.Responded, Ticket.InfoRequested,
    Ticket.CustomerReplied, Ticket.Escalated, Ticket.AutoCloseWarned, Ticket.Closed,
    Ticket.Reopened,
)
TICKET_TOPICS: list[str] = stored_topics(*TICKET_EVENT_CLASSES)
OPENED_TOPICS: list[str] = stored_topics(Ticket.Opened)


def check_occurred_at(at: datetime, now: datetime, *, ticket: str | None = None) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise TimeOrderError(
            "occurred_at must carry a time zone (ISO 8601 with Z or an offset)",
            field="occurred_at", rule="aware_time", ticket=ticket,
        )
    if at > now + FUTURE_TOLERANCE:
        raise TimeOrderError(
            f"occurred_at {at.isoformat()} is in the future (now {now.isoformat()})",
            field="occurred_at", rule="not_in_future", ticket=ticket,
        )
