"""The SLA policy model: desks, plans, severities, targets and their calendars, as plain data.

Policies are written as TOML files (see ``domain/catalogue.py``); this module only holds the
validated, immutable model the rest of the engine reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from tickets.domain.calendar import BusinessCalendar
from tickets.domain.errors import EntitlementError, PolicyError, ValidationError
from tickets.domain.retention import Retention


class TargetKind(StrEnum):
    FIRST_RESPONSE = "first_response"
    NEXT_UPDATE = "next_update"
    RESOLUTION = "resolution"


@dataclass(frozen=True)
class Target:
    """One promise: ``kind`` within ``duration`` of business time on ``calendar``."""

    kind: TargetKind
    duration: timedelta
    calendar: BusinessCalendar
    text: str = ""  # the duration as written in the file, e.g. "1 working day"


@dataclass(frozen=True)
class Severity:
    name: str
    description: str
    targets: Mapping[TargetKind, Target]


@dataclass(frozen=True)
class Plan:
    name: str
    description: str
    severities: Mapping[str, Severity]  # in file order: most severe first
    default_severity: str
    who_may_open: frozenset[str]  # requester roles allowed to open a ticket
    auto_escalation: bool = False  # the scheduler escalates at risk and at breach; else nobody does
    targets_for: frozenset[str] | None = None  # roles promised the targets; None: every role
    starting_levels: Mapping[str, str] = field(default_factory=dict)  # role -> first level
    category_calendars: Mapping[str, BusinessCalendar] = field(default_factory=dict)
    #: ``category_calendars``: per category, each severity's targets on that category's calendar.
    category_targets: Mapping[str, Mapping[str, Mapping[TargetKind, Target]]] = field(
        default_factory=dict)

    def rank(self, severity: str) -> int:
        """0 for the most severe; larger is milder."""
        return list(self.severities).index(severity)

    def promises_targets_to(self, role: str | None) -> bool:
        """Whether a ticket opened by ``role`` is promised this plan's targets.

        ``None`` is a ticket whose role is not known (facts stored before roles were kept):
        it keeps the targets it had.
        """
        return self.targets_for is None or role is None or role in self.targets_for

    def starting_level(self, role: str, lowest: str) -> str:
        """The level a ticket opened by ``role`` starts at (``lowest`` unless the plan says)."""
        return self.starting_levels.get(role, lowest)


@dataclass(frozen=True)
class Category:
    name: str
    max_severity: str | None = None  # the most severe level this category may have
    description: str = ""
    calendar: BusinessCalendar | None = None  # every target of the category is measured on it
    #: With a calendar: each (plan, severity)'s targets, re-read on that calendar.
    targets: Mapping[tuple[str, str], Mapping[TargetKind, Target]] = field(default_factory=dict)


@dataclass(frozen=True)
class FieldRule:
    name: str
    pattern: str | None
    description: str
    personal: bool = False  # sealed under the requester's key (``domain.personal``)


@dataclass(frozen=True)
class Inactivity:
    """Auto-close after ``close_after`` of business time without a reply; warn at ``warn_after``.

    ``warn_text`` and ``close_text`` keep the durations as written in the file.
    """

    calendar: BusinessCalendar
    warn_after: timedelta
    close_after: timedelta
    warn_text: str = ""
    close_text: str = ""


@dataclass(frozen=True)
class Desk:
    id: str
    name: str
    version: int
    ticket_prefix: str
    source: str
    calendars: Mapping[str, BusinessCalendar]
    plans: Mapping[str, Plan]
    default_plan: str
    categories: Mapping[str, Category]
    default_category: str
    required_fields: Mapping[str, FieldRule]
    inactivity: Inactivity
    warning_threshold: float = 0.75
    editors_per_site: int | None = None
    reopen_within: timedelta | None = None  # None: a closed ticket cannot be reopened
    retention: Retention | None = None  # None: personal data is kept until erased on request
    escalation_levels: tuple[str, ...] = field(
        default=("front_line", "level_2", "service_manager")
    )

    def plan(self, name: str | None) -> Plan:
        key = name or self.default_plan
        try:
            return self.plans[key]
        except KeyError:
            raise ValidationError(
                f"desk {self.id!r} has no plan {key!r}; plans: {', '.join(self.plans)}",
                field="plan", rule="known_plan",
            ) from None

    def category(self, name: str | None) -> Category:
        key = name or self.default_category
        try:
            return self.categories[key]
        except KeyError:
            raise ValidationError(
                f"desk {self.id!r} has no category {key!r}; "
                f"categories: {', '.join(self.categories)}",
                field="category", rule="known_category",
            ) from None

    def severity(self, plan: str | None, name: str) -> Severity:
        p = self.plan(plan)
        try:
            return p.severities[name]
        except KeyError:
            raise EntitlementError(
                f"plan {p.name!r} of desk {self.id!r} has no severity {name!r}; "
                f"allowed: {', '.join(p.severities)}",
                field="severity", rule="severity_in_plan",
            ) from None

    def check_severity_allowed(self, plan: str | None, category: str | None, name: str) -> None:
        """Raise unless ``name`` is in the plan and no more severe than the category allows."""
        p = self.plan(plan)
        self.severity(plan, name)
        cat = self.category(category)
        if cat.max_severity is not None and p.rank(name) < p.rank(cat.max_severity):
            raise EntitlementError(
                f"{cat.name} tickets are at most severity {cat.max_severity}, not {name}",
                field="severity", rule="category_max_severity",
            )

    def targets(
        self, plan: str, category: str, severity: str, role: str | None
    ) -> Mapping[TargetKind, Target]:
        """The targets of a ticket: its severity's, measured on the calendar the plan names for
        its category, else on the category's own calendar, else on each target's; none when the
        plan does not promise them to the requester's role."""
        p = self.plan(plan)
        found = p.severities.get(severity)
        if found is None or not p.promises_targets_to(role):
            return {}
        by_plan = p.category_targets.get(category)
        if by_plan is not None:
            return by_plan.get(severity, found.targets)
        cat = self.categories.get(category)
        if cat is not None and cat.calendar is not None:
            return cat.targets.get((p.name, severity), found.targets)
        return found.targets

    def calendar(self, name: str) -> BusinessCalendar:
        try:
            return self.calendars[name]
        except KeyError:
            raise PolicyError(
                f"unknown calendar {name!r}", file=self.source, key="calendar"
            ) from None
