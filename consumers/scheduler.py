"""The scheduler: fires what time makes due by sending commands to the desk, never by writing events.

Each tick reads only the due rows of the SLA timers projection (``next_actions``), so its cost
follows what is due, not how many tickets are open. The desk re-checks every command against the
ticket's own state: when a reply won the race, or another scheduler fired first, the command is
refused, which is normal and only logged. A ``ConcurrencyError`` (another writer saved the ticket
between load and save) is left for a later tick.

Until the projection has caught up past a command the scheduler sent, its row still shows the
action due; the scheduler remembers what it sent, with the store position the projection has to
reach, so it does not send it again on every tick meanwhile. A refusal about time (not due yet,
by the desk's own reckoning) is tried again after ``retry_refused_after`` of clock time; any other
refusal waits until the row changes, since sending the same command again would meet the same
answer. What is no longer due is forgotten, so the memory stays as small as the due work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import structlog

from tickets.application.clock import Clock
from tickets.application.desk import CommandResult, TicketDesk
from tickets.domain.actor import SCHEDULER
from tickets.domain.errors import ConcurrencyError, TicketError
from tickets.projections.readstore import ReadStore
from tickets.projections.sla_timers import TimerAction, next_actions

log = structlog.get_logger("tickets.scheduler")

Command = Callable[[TicketDesk, UUID, str, datetime], CommandResult]

#: What each timer action sends to the desk: (desk, ticket id, SLA target kind, at).
COMMANDS: dict[str, Command] = {
    "warn_auto_close": lambda d, t, kind, at: d.warn_auto_close(
        t, actor=SCHEDULER, channel="scheduler", at=at),
    "close_no_reply": lambda d, t, kind, at: d.close_ticket(
        t, "no_reply", actor=SCHEDULER, channel="scheduler", at=at),
    "escalate_at_risk": lambda d, t, kind, at: d.escalate(
        t, "at_risk", target=kind, actor=SCHEDULER, channel="scheduler", at=at),
    "escalate_breach": lambda d, t, kind, at: d.escalate(
        t, "breach", target=kind, actor=SCHEDULER, channel="scheduler", at=at),
}


@dataclass(frozen=True)
class Fired:
    """One action the scheduler sent: ``outcome`` is fired, refused:<rule> or conflict."""

    ticket: str
    kind: str
    action: str
    outcome: str
    at: datetime
    due: datetime
    ticket_id: str = ""


#: Refusals that depend on the time the command carries: worth trying again later.
TIME_RULES = frozenset({
    "warning_not_due", "auto_close_not_due", "sla_clock_state", "not_before_previous_event",
    "not_in_future",
})


@dataclass(frozen=True)
class _Sent:
    due: datetime
    position: int  # the projection must reach this position before the row can be trusted again
    retry_after: datetime | None  # a refusal about time: send again after this
    hold: bool = False  # any other refusal: wait until the row changes


class Scheduler:
    def __init__(
        self, desk: TicketDesk, store: ReadStore, clock: Clock, *, limit: int = 500,
        projection: str = "sla_timers", retry_refused_after: timedelta = timedelta(minutes=5),
        housekeeping: Callable[[datetime], object] | None = None,
        housekeeping_every: timedelta = timedelta(hours=1),
    ) -> None:
        #: Run with ``now`` at the first tick and then every ``housekeeping_every`` of clock time
        #: (retention: ``tickets.privacy.retention``).
        self.housekeeping = housekeeping
        self.housekeeping_every = housekeeping_every
        self._housekept: datetime | None = None
        self.desk = desk
        self.store = store
        self.clock = clock
        self.limit = limit
        self.projection = projection
        self.retry_refused_after = retry_refused_after
        self._sent: dict[tuple[str, str, str], _Sent] = {}

    def projection_position(self) -> int:
        rows = self.store.read(
            "SELECT position FROM projection_positions WHERE projection = ?", (self.projection,)
        )
        return int(rows[0][0]) if rows else 0

    def tick(self, now: datetime | None = None) -> list[Fired]:
        """Send every action due at ``now`` that was not sent already; return what was sent."""
        now = now or self.clock.now()
        if self.housekeeping is not None and (
                self._housekept is None or now - self._housekept >= self.housekeeping_every):
            self._housekept = now
            self.housekeeping(now)
        due = next_actions(self.store, now, limit=self.limit)
        if self._sent:
            self._forget(due, now)
        fired: list[Fired] = []
        for action in due:
            sent = self._sent.get((action.ticket_id, action.kind, action.action))
            if sent is not None and sent.due == action.at:
                continue
            fired.append(self._fire(action, now))
        if len(due) == self.limit and not fired:
            log.warning("scheduler_page_waiting", due=len(due), limit=self.limit)
        return fired

    def pending(self) -> int:
        """How many sent actions wait for the projection to catch up (or for a retry)."""
        return len(self._sent)

    def _forget(self, due: list[TimerAction], now: datetime) -> None:
        if len(due) < self.limit:  # the whole of what is due: anything else is done with
            still = {(a.ticket_id, a.kind, a.action) for a in due}
            for key in [k for k in self._sent if k not in still]:
                del self._sent[key]
        position = self.projection_position()
        for key, sent in list(self._sent.items()):
            if sent.hold or position < sent.position:
                continue
            if sent.retry_after is None or now >= sent.retry_after:
                del self._sent[key]

    def _fire(self, action: TimerAction, now: datetime) -> Fired:
        key = (action.ticket_id, action.kind, action.action)
        command = COMMANDS.get(action.action)
        rule: str | None = "unknown_action" if command is None else None
        if command is not None:
            try:
                command(self.desk, UUID(action.ticket_id), action.kind, now)
            except ConcurrencyError:
                self._sent.pop(key, None)  # tried again on a later tick
                log.warning("timer_conflict", ticket=action.number, kind=action.kind,
                            action=action.action)
                return self._fired(action, "conflict", now)
            except TicketError as error:
                rule = error.rule or error.code
        position = self.desk.recorder.max_notification_id() or 0
        if rule is None:
            self._sent[key] = _Sent(action.at, position, None)
        elif rule in TIME_RULES:
            self._sent[key] = _Sent(action.at, position, now + self.retry_refused_after)
        else:
            self._sent[key] = _Sent(action.at, position, None, hold=True)
        outcome = "fired" if rule is None else f"refused:{rule}"
        log.info("timer_fired", ticket=action.number, kind=action.kind, action=action.action,
                 outcome=outcome, due=action.at.isoformat())
        return self._fired(action, outcome, now)

    @staticmethod
    def _fired(action: TimerAction, outcome: str, now: datetime) -> Fired:
        return Fired(ticket=action.number, kind=action.kind, action=action.action,
                     outcome=outcome, at=now, due=action.at, ticket_id=action.ticket_id)
