"""The scheduler as a Kafka group member: fires the due actions of tickets on the partitions it owns.

The same commands and rules as the embedded ``Scheduler`` (``consumers.scheduler``): due timers
become commands the desk re-checks; a refusal about time is tried again after
``retry_refused_after``, any other refusal waits until the ticket changes. What differs is how it
knows a command has been seen: each action row carries the ticket version it was computed at
(``consumers.scheduler_timers``), so a sent action is remembered until the row reaches the
version the command produced, per ticket, instead of a global store position (a consumer's
progress differs per partition).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import structlog

from tickets.application.clock import Clock
from tickets.application.desk import TicketDesk
from tickets.consumers.scheduler import COMMANDS, TIME_RULES, Fired
from tickets.consumers.scheduler_timers import DueAction, due_actions
from tickets.domain.errors import ConcurrencyError, TicketError
from tickets.projections.readstore import ReadStore

log = structlog.get_logger("tickets.scheduler")

Key = tuple[str, str, str]


@dataclass(frozen=True)
class _Sent:
    until_version: int  # forget once the row is computed at this version or later
    retry_after: datetime | None = None  # a refusal about time: send again after this


class PartitionScheduler:
    def __init__(
        self, desk: TicketDesk, store: ReadStore, clock: Clock, *, limit: int = 500,
        retry_refused_after: timedelta = timedelta(minutes=5),
        housekeeping: Callable[[datetime], object] | None = None,
        housekeeping_every: timedelta = timedelta(hours=1),
    ) -> None:
        #: Run by the member that owns partition 0, at its first tick and then every
        #: ``housekeeping_every`` of clock time (retention: ``tickets.privacy.retention``).
        self.housekeeping = housekeeping
        self.housekeeping_every = housekeeping_every
        self._housekept: datetime | None = None
        self.desk = desk
        self.store = store
        self.clock = clock
        self.limit = limit
        self.retry_refused_after = retry_refused_after
        self._sent: dict[Key, _Sent] = {}

    def tick(self, partitions: Iterable[int], now: datetime | None = None) -> list[Fired]:
        """Send every action due at ``now`` on ``partitions`` that is not waiting; return what was sent."""
        now = now or self.clock.now()
        partitions = frozenset(partitions)
        if self.housekeeping is not None and 0 in partitions and (
                self._housekept is None or now - self._housekept >= self.housekeeping_every):
            self._housekept = now
            self.housekeeping(now)
        due = due_actions(self.store, partitions, now, self.limit)
        self._forget(due, now)
        fired = [self._fire(a, now) for a in due if _key(a) not in self._sent]
        if len(due) == self.limit and not fired:
            log.warning("scheduler_page_waiting", due=len(due), limit=self.limit)
        return fired

    def pending(self) -> int:
        return len(self._sent)

    def _forget(self, due: list[DueAction], now: datetime) -> None:
        if len(due) < self.limit:  # the whole of what is due: anything else is done with
            still = {_key(a) for a in due}
            for key in [k for k in self._sent if k not in still]:
                del self._sent[key]
        for action in due:
            sent = self._sent.get(_key(action))
            if sent is None:
                continue
            if action.version >= sent.until_version or (
                    sent.retry_after is not None and now >= sent.retry_after):
                del self._sent[_key(action)]

    def _fire(self, action: DueAction, now: datetime) -> Fired:
        command = COMMANDS.get(action.action)
        rule: str | None = "unknown_action" if command is None else None
        version = action.version + 1
        if command is not None:
            try:
                version = command(self.desk, UUID(action.ticket_id), action.kind, now).version
            except ConcurrencyError:
                log.warning("timer_conflict", ticket=action.number, kind=action.kind,
                            action=action.action)
                return _fired(action, "conflict", now)
            except TicketError as error:
                rule = error.rule or error.code
        retry = now + self.retry_refused_after if rule in TIME_RULES else None
        self._sent[_key(action)] = _Sent(version, retry)
        outcome = "fired" if rule is None else f"refused:{rule}"
        log.info("timer_fired", ticket=action.number, kind=action.kind, action=action.action,
                 outcome=outcome, due=action.at.isoformat())
        return _fired(action, outcome, now)


def _key(action: DueAction) -> Key:
    return (action.ticket_id, action.kind, action.action)


def _fired(action: DueAction, outcome: str, now: datetime) -> Fired:
    return Fired(ticket=action.number, kind=action.kind, action=action.action, outcome=outcome,
                 at=now, due=action.at, ticket_id=action.ticket_id)
