"""The demo's people: customers who open, reply or stay silent, and agents who answer on time or late.

Each ticket follows a script drawn from its own ``random.Random`` (seeded with the demo seed and
the ticket's index), so one ticket's fate does not depend on how the others went. Actions wait in
a queue ordered by time; ``run_due(now)`` performs every action whose time has come, as a command
to the desk at ``now``. Agents work on their desk's calendar (an answer due outside opening hours
waits for the next opening); customers write at any hour. A command the desk refuses (say, a late
reply to a ticket the scheduler already closed) is counted by its rule, and its script ends there.
"""

from __future__ import annotations

import heapq
import random
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from tickets.application.desk import TicketDesk
from tickets.demo_profiles import Opening, opening, web_editors
from tickets.domain.actor import Actor
from tickets.domain.errors import TicketError
from tickets.domain.policy import TargetKind

H = timedelta(hours=1)
SERVICE = Actor("service", "webform")


class World:
    def __init__(self, desk: TicketDesk, seed: int) -> None:
        self.desk = desk
        self.seed = seed
        self._queue: list[tuple[datetime, int, int, str]] = []
        self._seq = 0
        self.rngs: dict[int, random.Random] = {}
        self.openings: dict[int, Opening] = {}
        self.numbers: dict[int, str] = {}
        self.done: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()

    # ---- set-up ---------------------------------------------------------------------------

    def register_editors(self) -> None:
        for site, editor in web_editors():
            self.desk.add_editor("web", site, editor)

    def plan_openings(self, count: int, opening_times: list[datetime]) -> None:
        for index, when in enumerate(opening_times[:count]):
            rng = random.Random(f"{self.seed}/{index}")
            self.rngs[index] = rng
            self.openings[index] = opening(rng, index)
            self._at(when, index, "open")

    def pending(self) -> int:
        return len(self._queue)

    # ---- the clock moves -------------------------------------------------------------------

    def run_due(self, now: datetime) -> int:
        """Perform every action due by ``now`` (as commands at ``now``); return how many."""
        count = 0
        while self._queue and self._queue[0][0] <= now:
            _when, _seq, index, action = heapq.heappop(self._queue)
            count += 1
            try:
                getattr(self, f"_{action}")(index, now)
            except TicketError as error:
                self.refused[f"{action}:{error.rule or error.code}"] += 1
                continue
            self.done[action] += 1
        return count

    def _at(self, when: datetime, index: int, action: str) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (when, self._seq, index, action))

    # ---- time helpers ---------------------------------------------------------------------

    def _agent_time(self, index: int, start: datetime, business: timedelta) -> datetime:
        """``business`` of the desk's working time after ``start``: when an agent gets to it."""
        calendar = self.desk.catalogue.desk(self.openings[index].desk).inactivity.calendar
        return calendar.add(start, business) if business > timedelta(0) else calendar.next_opening(start)

    def _target_time(
        self, index: int, kind: TargetKind, start: datetime, late_share: float
    ) -> datetime | None:
        """When the agent acts against a target: mostly well inside it, ``late_share`` of the time late."""
        o = self.openings[index]
        severity = self.desk.catalogue.desk(o.desk).plan(o.plan).severities[o.severity]
        target = severity.targets.get(kind)
        if target is None:
            return None
        rng = self.rngs[index]
        roll = rng.random()
        share = rng.uniform(1.1, 2.5) if roll < late_share else rng.uniform(0.1, 0.7)
        return target.calendar.add(start, target.duration * share)

    def _customer(self, index: int) -> Actor:
        return Actor("customer", self.openings[index].requester)

    # ---- actions ---------------------------------------------------------------------------

    def _open(self, index: int, now: datetime) -> None:
        o, rng = self.openings[index], self.rngs[index]
        result = self.desk.open(
            desk=o.desk, requester=o.requester, requester_role=o.role, title=o.title,
            fields=o.fields, plan=o.plan, category=o.category, severity=o.severity, actor=SERVICE,
            channel=rng.choice(("web", "email", "chat", "phone")), at=now,
        )
        self.numbers[index] = result.number
        self._at(self._agent_time(index, now, rng.uniform(0.05, 0.5) * H), index, "assign")
        if rng.random() < 0.2:
            self._at(self._agent_time(index, now, rng.uniform(0.2, 1.5) * H), index, "severity")
        first = self._target_time(index, TargetKind.FIRST_RESPONSE, now, late_share=0.15)
        self._at(first or self._agent_time(index, now, rng.uniform(1, 14) * H), index, "respond")
        if rng.random() < 0.06:
            self._at(now + rng.uniform(20, 80) * H, index, "complaint")

    def _assign(self, index: int, now: datetime) -> None:
        agent = f"a-{self.rngs[index].randrange(1, 25)}"
        self.desk.assign(self.numbers[index], agent, actor=Actor("agent", agent), at=now)

    def _severity(self, index: int, now: datetime) -> None:
        o, rng = self.openings[index], self.rngs[index]
        policy = self.desk.catalogue.desk(o.desk)
        current = self.desk.get(self.numbers[index]).severity
        plan = policy.plan(o.plan)
        others = [s for s in plan.severities if s != current]
        if not others:
            return
        choice = rng.choice(others)
        reason = "reclassified"
        if plan.rank(choice) > plan.rank(current) and rng.random() < 0.4:
            reason = "customer_could_not_cooperate"
        self.desk.set_severity(self.numbers[index], choice, reason, actor=Actor("agent", "triage"), at=now)

    def _respond(self, index: int, now: datetime) -> None:
        rng = self.rngs[index]
        ticket = self.desk.get(self.numbers[index])
        first = ticket.first_response_at is None
        self.desk.respond(self.numbers[index], actor=Actor("agent", ticket.agent or "a-0"), at=now)
        if not first:
            self._at(self._agent_time(index, now, rng.uniform(2, 30) * H), index, "resolve")
            return
        roll = rng.random()
        if roll < 0.42:
            self._at(self._agent_time(index, now, rng.uniform(0.2, 3) * H), index, "request_info")
        elif roll < 0.82:
            resolve = self._target_time(index, TargetKind.RESOLUTION, ticket.opened_at, 0.2)
            self._at(max(now, resolve) if resolve else self._agent_time(
                index, now, rng.uniform(1, 20) * H), index, "resolve")
        elif roll < 0.89:
            self._at(now + rng.uniform(1, 30) * H, index, "requester_close")

    def _request_info(self, index: int, now: datetime) -> None:
        rng = self.rngs[index]
        agent = self.desk.get(self.numbers[index]).agent or "a-0"
        self.desk.request_info(self.numbers[index], actor=Actor("agent", agent), at=now)
        if rng.random() < 0.5:
            self._at(now + rng.uniform(2, 100) * H, index, "reply")

    def _reply(self, index: int, now: datetime) -> None:
        self.desk.customer_reply(self.numbers[index], actor=self._customer(index), channel="email", at=now)
        rng = self.rngs[index]
        self._at(self._agent_time(index, now, rng.uniform(0.5, 6) * H), index, "respond")

    def _resolve(self, index: int, now: datetime) -> None:
        agent = self.desk.get(self.numbers[index]).agent or "a-0"
        self.desk.close_ticket(self.numbers[index], "resolved", actor=Actor("agent", agent), at=now)

    def _requester_close(self, index: int, now: datetime) -> None:
        self.desk.close_ticket(self.numbers[index], "closed_by_requester", actor=self._customer(index),
                               channel="web", at=now)

    def _complaint(self, index: int, now: datetime) -> None:
        self.desk.escalate(self.numbers[index], "complaint", actor=self._customer(index), channel="web",
                           at=now)

    def summary(self) -> dict[str, Any]:
        return {"done": dict(sorted(self.done.items())), "refused": dict(sorted(self.refused.items()))}
