"""The ``TicketDesk`` application: one method per command; load, check, record, save.

Library errors become the domain's own: a concurrent change is a ``ConcurrencyError``, an unknown
id a ``TicketNotFoundError``. The event store is chosen by the ``env`` it is given (the entry
points build it from configuration); the domain itself never reads the process environment.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, Notification, Recording
from eventsourcing.utils import Environment, EnvType

from tickets.application.clock import Clock, SystemClock
from tickets.application.recording import collected, replay
from tickets.domain.actor import Actor, check_channel
from tickets.domain.catalogue import Catalogue
from tickets.domain.errors import (
    ConcurrencyError,
    EntitlementError,
    LifecycleError,
    TicketNotFoundError,
    ValidationError,
    ticket_not_found,
)
from tickets.domain.facts import TicketFacts, fold_all
from tickets.domain.history import HistoryEntry, entries_of
from tickets.domain.numbers import looks_like_number, new_number, normalise_number, ticket_id_for
from tickets.domain.opening import check_fields, check_title
from tickets.domain.personal import NoKeys, SubjectKeys, seal_opening
from tickets.domain.policy import Desk
from tickets.domain.receipts import CommandKey, CommandReceipt, CommandRef, command_key, receipt_id
from tickets.domain.scope import EVERY_DESK, DeskScope, check_desk_within
from tickets.domain.sla import ClockState, SlaReport, compute
from tickets.domain.stored_topics import stored_topics
from tickets.domain.ticket import OPENED_TOPICS, Ticket, check_occurred_at
from tickets.domain.ticket_state import TicketState

if TYPE_CHECKING:  # aggregates few commands touch, imported by those (each costs a command 0.01 s)
    from tickets.domain.editors import SiteEditors
    from tickets.domain.erasure import PersonalDataErasure

T = TypeVar("T")
_NUMBER_ATTEMPTS = 8


@dataclass(frozen=True)
class CommandResult:
    ticket_id: UUID
    number: str
    version: int
    duplicate: bool = False  # the command id was seen before: this is the first answer again


class TicketDesk(Application[UUID]):
    name = "tickets"
    log_section_size = 5000
    env = {"AGGREGATE_CACHE_MAXSIZE": "20000", "DEEPCOPY_FROM_AGGREGATE_CACHE": "y"}

    def __init__(
        self, catalogue: Catalogue, *, clock: Clock | None = None, env: EnvType | None = None,
        rng: random.Random | None = None, keys: SubjectKeys | None = None,
    ) -> None:
        self.catalogue = catalogue
        #: Seals personal values before they are stored, opens them where they are shown.
        self.personal: SubjectKeys = keys or NoKeys()
        self.clock: Clock = clock or SystemClock()
        self._rng = rng or random.SystemRandom()
        super().__init__(env=env)

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        """Only what the entry points pass in: the process environment is not read here."""
        return Environment(name, {**type(self).env, **(env or {})})

    # ---- loading and saving -----------------------------------------------------------------

    def load_aggregate(self, aggregate_id: UUID) -> object:
        """``repository.get`` (the cache, fast-forwarded), replayed without a protocol check per
        event (see ``application.recording``); raises ``AggregateNotFoundError``."""
        found: object = self.repository.get(aggregate_id, projector_func=replay)
        return found

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """``Application.save``, its aggregates' events collected by class rather than by runtime
        protocol (see ``application.recording``); the recording and its hooks are the library's."""
        processing_event = None if kwargs else collected(objs)
        if processing_event is None:
            return super().save(*objs, **kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        self.notify(processing_event.events)  # the library's deprecated hook, kept for subclasses
        return recordings

    # ---- reading --------------------------------------------------------------------------

    def ticket_id(self, ref: str | UUID) -> UUID:
        if isinstance(ref, UUID):
            return ref
        if looks_like_number(ref):
            return ticket_id_for(normalise_number(ref))
        try:
            return UUID(ref)
        except ValueError:
            raise ValidationError(
                f"{ref!r} is neither a ticket number (like WEB-7K3M9Q) nor a ticket id",
                field="ticket", rule="ticket_reference",
            ) from None

    def get(self, ref: str | UUID) -> Ticket:
        ticket_id = self.ticket_id(ref)
        try:
            ticket: object = self.load_aggregate(ticket_id)
        except AggregateNotFoundError:
            raise ticket_not_found(ref) from None
        if not isinstance(ticket, Ticket):
            raise ticket_not_found(ref)
        return ticket

    def get_within(self, ref: str | UUID, desks: DeskScope) -> Ticket:
        """The ticket, if ``desks`` covers its desk; otherwise exactly the refusal of an unknown one."""
        ticket = self.get(ref)
        if not desks.covers(ticket.desk):
            raise ticket_not_found(ref)
        return ticket

    def history(self, ref: str | UUID, *, until_version: int | None = None) -> list[HistoryEntry]:
        ticket_id = self.ticket_id(ref)
        events = list(self.events.get(ticket_id, lte=until_version))
        if not events or type(events[0]).__qualname__ != "Ticket.Opened":
            raise TicketNotFoundError(
                f"no ticket {ref}", field="ticket", rule="known_ticket", ticket=str(ref)
            )
        return entries_of(events)

    def facts(self, ref: str | UUID) -> TicketFacts:
        return fold_all(self.history(ref))

    def sla(self, ref: str | UUID, *, now: datetime | None = None, explain: bool = False) -> SlaReport:
        facts = self.facts(ref)
        return compute(facts, self.catalogue.desk(facts.desk, facts.policy_version), now or self.clock.now(),
                       explain=explain)

    def notifications(self, topics: Sequence[str], after: int = 0) -> Iterator[Notification]:
        """The notification log's entries of ``topics`` after position ``after``, in order, read
        a section at a time."""
        start = after + 1
        while True:
            batch = self.recorder.select_notifications(
                start=start, limit=self.log_section_size, topics=topics
            )
            yield from batch
            if len(batch) < self.log_section_size:
                return
            start = batch[-1].id + 1

    def opened_ticket_ids(self) -> Iterator[UUID]:
        """Every ticket ever opened, in the order they were opened (reads the notification log)."""
        for notification in self.notifications(OPENED_TOPICS):
            yield notification.originator_id  # type: ignore[misc]

    # ---- commands -------------------------------------------------------------------------

    def _when(self, at: datetime | None) -> tuple[datetime, datetime]:
        now = self.clock.now()
        if at is None:
            return now, now
        check_occurred_at(at, now)
        return at.astimezone(UTC), now

    def open(
        self, *, desk: str, requester: str, requester_role: str, title: str,
        fields: Mapping[str, object] | None = None, plan: str | None = None,
        category: str | None = None, severity: str | None = None, actor: Actor,
        channel: str = "api", at: datetime | None = None, command_id: CommandRef | None = None,
        desks: DeskScope = EVERY_DESK,
    ) -> CommandResult:
        check_desk_within(desk, desks)
        if (seen := self.receipt(command_id)) is not None:
            return seen
        policy = self.catalogue.desk(desk)
        check_channel(channel)
        the_plan = policy.plan(plan)
        the_category = policy.category(category)
        severity = severity or the_plan.default_severity
        policy.check_severity_allowed(the_plan.name, the_category.name, severity)
        Actor("customer", requester)  # the requester id has an actor id's shape
        if requester_role not in the_plan.who_may_open:
            raise EntitlementError(
                f"a {requester_role} may not open tickets under plan {the_plan.name} of desk "
                f"{policy.id}; allowed: {', '.join(sorted(the_plan.who_may_open))}",
                field="requester_role", rule="who_may_open",
            )
        clean_title = check_title(title)
        clean_fields = check_fields(policy, {**(fields or {}), "title": clean_title})
        clean_fields.pop("title")
        if policy.editors_per_site is not None:
            self._check_is_editor(policy, clean_fields.get("site_id", ""), requester)
        clean_title, clean_fields = seal_opening(self.personal, policy, requester, clean_title,
                                                 clean_fields)
        occurred_at, _ = self._when(at)
        for _attempt in range(_NUMBER_ATTEMPTS):
            number = new_number(policy.ticket_prefix, self._rng)
            ticket = Ticket(
                occurred_at=occurred_at, actor=str(actor), channel=channel, number=number,
                desk=policy.id, policy_version=policy.version, plan=the_plan.name,
                category=the_category.name, severity=severity, requester=requester,
                requester_role=requester_role, title=clean_title, fields=clean_fields,
                level=the_plan.starting_level(requester_role, policy.escalation_levels[0]),
            )
            folded(ticket)
            try:
                self.save(ticket, *self._receipts(command_id, ticket, number))
            except IntegrityError:
                if (seen := self.receipt(command_id)) is not None:
                    return seen  # the same command, delivered twice at once
                continue  # the number was taken: draw another
            return CommandResult(ticket.id, number, ticket.version)
        raise ConcurrencyError("could not draw a free ticket number", field="number", rule="unique")

    def receipt(self, command_id: CommandRef | None) -> CommandResult | None:
        """The first answer to this command, if it was applied before (see ``domain.receipts``).

        Raises ``LifecycleError`` (``command_id_reused``) when the sender used the id before for
        a different command.
        """
        key = command_key(command_id)
        if key is None:
            return None
        found = self._stored_receipt(key.receipt_id) or self._legacy_receipt(key)
        if found is None:
            return None
        found.check_same_command(key)
        return CommandResult(found.ticket_id, found.number, found.ticket_version, duplicate=True)

    def _stored_receipt(self, the_id: UUID) -> CommandReceipt | None:
        try:
            found: object = self.load_aggregate(the_id)
        except AggregateNotFoundError:
            return None
        assert isinstance(found, CommandReceipt)
        return found

    def _legacy_receipt(self, key: CommandKey) -> CommandReceipt | None:
        """A receipt stored before receipts were scoped, if this key's sender wrote it.

        It names no sender: the ticket's event it answered does, by its actor.
        """
        if key.sender is None or not self.legacy_receipts_stored():
            return None
        found = self._stored_receipt(receipt_id(key.command_id))
        if found is None or found.sender is not None:
            return None
        events = list(self.events.get(found.ticket_id, gt=found.ticket_version - 1,
                                      lte=found.ticket_version))
        recorded_as = getattr(events[0], "actor", None) if events else None
        return found if recorded_as == (key.actor or key.sender) else None

    _legacy_receipts: bool | None = None

    def legacy_receipts_stored(self) -> bool:
        """Whether the store holds receipts from before senders were recorded (class version 1).

        Receipts are written in order, so the first one in the notification log tells: one query
        per desk, instead of a second read for every command sent with an id. A store whose first
        receipt is a scoped one (or that has none yet) never looks for unscoped receipts again.
        """
        if self._legacy_receipts is None:
            first = self.recorder.select_notifications(
                start=None, limit=1, topics=stored_topics(CommandReceipt.Issued))
            self._legacy_receipts = bool(first) and self._class_version(first[0].state) < 2
        return self._legacy_receipts

    def _class_version(self, stored_state: bytes) -> int:
        """The class version a stored event was written with (eventsourcing records versions > 1)."""
        mapper = self.mapper
        state = mapper.cipher.decrypt(stored_state) if mapper.cipher else stored_state
        state = mapper.compressor.decompress(state) if mapper.compressor else state
        return int(mapper.transcoder.decode(state).get("class_version", 1))

    @staticmethod
    def _receipts(command_id: CommandRef | None, ticket: Ticket, number: str) -> list[CommandReceipt]:
        key = command_key(command_id)
        if key is None:
            return []
        return [CommandReceipt.issue(key, ticket.id, number, ticket.version)]

    def _change(
        self, ref: str | UUID, expected_version: int | None, at: datetime | None,
        command: Callable[[Ticket, Desk, datetime, datetime], None],
        command_id: CommandRef | None = None, desks: DeskScope = EVERY_DESK,
        actor: Actor | None = None, channel: str = "api",
    ) -> CommandResult:
        """Load, check, apply ``command`` and save: the one path of every ticket command after
        opening (the channel is checked first, before any lookup)."""
        check_channel(channel)
        if (seen := self.receipt(command_id)) is not None:
            if not desks.covers_number(seen.number, self.catalogue):
                raise ticket_not_found(ref)
            return seen
        ticket = self.get_within(ref, desks)
        if actor is not None and actor.role == "customer":
            self._check_requester_not_erased(ticket)
        if expected_version is not None and ticket.version != expected_version:
            raise ConcurrencyError(
                f"the ticket is at version {ticket.version}, not {expected_version}: "
                "someone changed it first; reload and try again",
                field="expected_version", rule="optimistic_concurrency", ticket=ticket.number,
            )
        occurred_at, now = self._when(at)
        command(ticket, self.catalogue.desk(ticket.desk, ticket.policy_version), occurred_at, now)
        number = folded(ticket).facts.number
        try:
            self.save(ticket, *self._receipts(command_id, ticket, number))
        except IntegrityError:
            if (seen := self.receipt(command_id)) is not None:
                return seen
            raise ConcurrencyError(
                "another command changed the ticket at the same time and won; reload and retry",
                field="version", rule="optimistic_concurrency", ticket=number,
            ) from None
        return CommandResult(ticket.id, number, ticket.version)

    def set_severity(
        self, ref: str | UUID, severity: str, reason: str, *, actor: Actor, channel: str = "api",
        at: datetime | None = None, expected_version: int | None = None,
        command_id: CommandRef | None = None, desks: DeskScope = EVERY_DESK,
    ) -> CommandResult:
        return self._change(ref, expected_version, at, lambda t, d, a, n: t.set_severity(
            severity, reason, desk=d, at=a, now=n, actor=actor, channel=channel),
            command_id=command_id, desks=desks,
            actor=actor, channel=channel)

    def assign(
        self, ref: str | UUID, agent: str, level: str = "front_line", *, actor: Actor,
        channel: str = "api", at: datetime | None = None, expected_version: int | None = None,
        command_id: CommandRef | None = None, desks: DeskScope = EVERY_DESK,
    ) -> CommandResult:
        return self._change(ref, expected_version, at, lambda t, d, a, n: t.assign(
            agent, level, desk=d, at=a, now=n, actor=actor, channel=channel),
            command_id=command_id, desks=desks,
            actor=actor, channel=channel)

    def respond(
        self, ref: str | UUID, *, actor: Actor, channel: str = "api", at: datetime | None = None,
        expected_version: int | None = None, command_id: CommandRef | None = None,
        desks: DeskScope = EVERY_DESK,
    ) -> CommandResult:
        return self._change(ref, expected_version, at, lambda t, d, a, n: t.respond(
            at=a, now=n, actor=actor, channel=channel), command_id=command_id, desks=desks,
            actor=actor, channel=channel)

    def request_info(
        self, ref: str | UUID, *, actor: Actor, channel: str = "api", replace: bool = False,
        at: datetime | None = None, expected_version: int | None = None,
        command_id: CommandRef | None = None, desks: DeskScope = EVERY_DESK,
    ) -> CommandResult:
        return self._change(ref, expected_version, at, lambda t, d, a, n: t.request_info(
            at=a, now=n, actor=actor, channel=channel, replace=replace), command_id=command_id, desks=desks,
            actor=actor, channel=channel)

    def customer_reply(
        self, ref: str | UUID, *, actor: Actor, channel: str = "api", at: datetime | None = None,
        expected_version: int | None = None, command_id: CommandRef | None = None,
        desks: DeskScope = EVERY_DESK,
    ) -> CommandResult:
        return self._change(ref, expected_version, at, lambda t, d, a, n: t.customer_reply(
            at=a, now=n, actor=actor, channel=channel), command_id=command_id, desks=desks,
            actor=actor, channel=channel)

    def escalate(
        self, ref: str | UUID, reason: str, level: str | None = None, *, actor: Actor,
        channel: str = "api", at: datetime | None = None, expected_version: int | None = None,
        target: str | None = None, command_id: CommandRef | None = None,
        desks: DeskScope = EVERY_DESK,
    ) -> CommandResult:
        """Escalate a ticket; ``target`` names the SLA clock whose risk or breach fired it.

        With a target, the SLA clock is re-checked as of ``at``: a reply that arrived first, or a
        pause, wins over a timer that fired late.
        """
        check_channel(channel)
        if target is not None:
            self._check_clock_fired(ref, reason, target, at)
        return self._change(ref, expected_version, at, lambda t, d, a, n: t.escalate(
            level, reason, desk=d, at=a, now=n, actor=actor, channel=channel, target=target),
            command_id=command_id, desks=desks,
            actor=actor, channel=channel)

    def _check_clock_fired(
        self, ref: str | UUID, reason: str, target: str, at: datetime | None
    ) -> None:
        wanted = {"at_risk": {ClockState.AT_RISK, ClockState.BREACHED},
                  "breach": {ClockState.BREACHED}}.get(reason)
        if wanted is None:
            raise ValidationError(
                "only at_risk and breach escalations name an SLA target",
                field="target", rule="target_with_sla_reason",
            )
        clock = self.sla(ref, now=at or self.clock.now()).clock(target)
        if clock is None or clock.state not in wanted:
            state = clock.state.value if clock is not None else "absent"
            raise LifecycleError(
                f"the {target} clock is {state}, not {reason}", field="target",
                rule="sla_clock_state", ticket=str(ref),
            )

    def warn_auto_close(
        self, ref: str | UUID, *, actor: Actor, channel: str = "scheduler",
        at: datetime | None = None, expected_version: int | None = None,
        command_id: CommandRef | None = None, desks: DeskScope = EVERY_DESK,
    ) -> CommandResult:
        return self._change(ref, expected_version, at, lambda t, d, a, n: t.warn_auto_close(
            desk=d, at=a, now=n, actor=actor, channel=channel), command_id=command_id, desks=desks,
            actor=actor, channel=channel)

    def close_ticket(
        self, ref: str | UUID, reason: str, *, actor: Actor, channel: str = "api",
        at: datetime | None = None, expected_version: int | None = None,
        command_id: CommandRef | None = None, desks: DeskScope = EVERY_DESK,
    ) -> CommandResult:
        return self._change(ref, expected_version, at, lambda t, d, a, n: t.close(
            reason, desk=d, at=a, now=n, actor=actor, channel=channel), command_id=command_id, desks=desks,
            actor=actor, channel=channel)

    def reopen(
        self, ref: str | UUID, reason: str, *, actor: Actor, channel: str = "api",
        at: datetime | None = None, expected_version: int | None = None,
        command_id: CommandRef | None = None, desks: DeskScope = EVERY_DESK,
    ) -> CommandResult:
        return self._change(ref, expected_version, at, lambda t, d, a, n: t.reopen(
            reason, desk=d, at=a, now=n, actor=actor, channel=channel), command_id=command_id, desks=desks,
            actor=actor, channel=channel)

    # ---- personal data ----------------------------------------------------------------------

    def erasure(self, subject: str) -> PersonalDataErasure | None:
        """The record of the subject's erasures, if their personal data was ever erased."""
        from tickets.domain.erasure import PersonalDataErasure, erasure_id

        try:
            found: object = self.load_aggregate(erasure_id(subject))
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, PersonalDataErasure) else None

    def _check_requester_not_erased(self, ticket: Ticket) -> None:
        """A customer's command on a ticket whose requester's personal data was erased is refused:
        the person it belonged to is no longer known to it."""
        if self.personal.holds(ticket.requester):
            return
        found = self.erasure(ticket.requester)
        if found is not None and found.last_erased_at is not None:
            raise LifecycleError(
                f"the requester's personal data was erased at {found.last_erased_at.isoformat()}; "
                "this ticket no longer takes their commands: open a new ticket",
                field="requester", rule="requester_erased", ticket=ticket.number)

    # ---- the editor registry --------------------------------------------------------------

    def editors(self, desk: str, site_id: str) -> list[str]:
        """A site's registered editors; refused for an unknown desk, a desk without a registry or
        a site id that breaks the desk's ``site_id`` field rule."""
        self._registry_limit(desk, site_id)
        return self._registered(desk, site_id)

    def _registered(self, desk: str, site_id: str) -> list[str]:
        from tickets.domain.editors import SiteEditors, registry_id

        try:
            registry: object = self.load_aggregate(registry_id(desk, site_id))
        except AggregateNotFoundError:
            return []
        assert isinstance(registry, SiteEditors)
        return list(registry.editors)

    def _check_is_editor(self, desk: Desk, site_id: str, requester: str) -> None:
        if requester not in self._registered(desk.id, site_id):
            raise EntitlementError(
                f"{requester} is not a registered editor of site {site_id}; each site may "
                f"register at most {desk.editors_per_site} editors",
                field="requester", rule="registered_editor",
            )

    def _change_editors(
        self, desk: str, site_id: str, change: Callable[[SiteEditors, datetime, int], None],
    ) -> list[str]:
        from tickets.domain.editors import SiteEditors, registry_id

        limit = self._registry_limit(desk, site_id)
        for _attempt in range(_NUMBER_ATTEMPTS):
            now = self.clock.now()
            registry: SiteEditors
            try:
                found: object = self.load_aggregate(registry_id(desk, site_id))
                assert isinstance(found, SiteEditors)
                registry = found
            except AggregateNotFoundError:
                registry = SiteEditors(
                    desk=desk, site_id=site_id, limit=limit, occurred_at=now
                )
            change(registry, now, limit)
            try:
                self.save(registry)
            except IntegrityError:
                continue  # someone else changed the registry: look again
            return list(registry.editors)
        raise ConcurrencyError("the editor registry is too busy; try again", field="site_id",
                               rule="optimistic_concurrency")

    def _registry_limit(self, desk: str, site_id: str) -> int:
        """The desk's editors per site, once the desk and the site id are known to be good."""
        policy = self.catalogue.desk(desk)
        if policy.editors_per_site is None:
            raise ValidationError(
                f"desk {desk} keeps no editor registry", field="desk", rule="has_editor_registry"
            )
        if not site_id:
            raise ValidationError("a site id is required", field="site_id", rule="required")
        rule = policy.required_fields.get("site_id")
        if rule is not None and rule.pattern is not None and not re.fullmatch(rule.pattern, site_id):
            raise ValidationError(f"site_id must be {rule.description}", field="site_id",
                                  rule="format")
        return policy.editors_per_site

    def add_editor(self, desk: str, site_id: str, editor: str) -> list[str]:
        Actor("customer", editor)
        return self._change_editors(desk, site_id, lambda r, at, limit: r.add(editor, at, limit))

    def remove_editor(self, desk: str, site_id: str, editor: str) -> list[str]:
        return self._change_editors(desk, site_id, lambda r, at, limit: r.remove(editor, at))


def summary(ticket: Ticket) -> dict[str, Any]:
    """A ticket's state for people and JSON, without personal data."""
    return {
        "id": str(ticket.id),
        "number": ticket.number,
        "desk": ticket.desk,
        "plan": ticket.plan,
        "category": ticket.category,
        "severity": ticket.severity,
        "status": ticket.status,
        "level": ticket.level,
        "agent": ticket.agent,
        "title": ticket.title,
        "version": ticket.version,
        "opened_at": ticket.opened_at,
        "first_response_at": ticket.first_response_at,
        "pending_info_since": ticket.pending_info_since,
        "closed_at": ticket.closed_at,
        "close_reason": ticket.close_reason,
    }


def folded(ticket: Ticket) -> TicketState:
    """The ticket's state with the events just applied folded in. Called before every save, so
    an event the one evolve refuses raises here and is never stored (the fold otherwise runs
    when the state is first read: ``domain.ticket_state.FoldOnRead``)."""
    return ticket.state
