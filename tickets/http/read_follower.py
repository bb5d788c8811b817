"""Follow the shared read models: woken by the consumer group's announcements, not by polling.

The projections group runs ``NOTIFY tickets_read_model`` in every batch's transaction, and
PostgreSQL delivers it once the batch is committed. ``ReadFollower`` LISTENs on an asyncio
connection in the HTTP server's own event loop (``start_on``); on each announcement (all those
waiting, taken together) it reads, in one statement (one snapshot, one round trip), the group's
offsets and projection positions (the marks the ETags cover) and the changes the group committed
since its last look (``consumers.change_log``, per partition from the offset it had reached), and
hands them to every subscriber at once: the change streams and the waits for a write. One look
per announcement per process, however many streams are open.

Why in the loop and not in a thread: the streams are written by the loop, and a thread of the
same process waits for the interpreter's lock each time its database answers (up to the 5 ms
switch interval, several times per look) while the loop answers requests flat out; the change
then waits again for the loop to take it from the thread. In the loop, a change goes from the
socket to the subscribers' queues without a lock or a hand-over (docs/performance.md).

While the LISTEN is not in place (starting, or the connection dropped), ``marks()`` reads the
database at each call and no change is lost: the next look starts from the offsets already read.
A change whose ticket version was handed on before (Kafka delivered an event twice) is not handed
on again.

The marks that tag answers (``marks()``) move at most once per ``mark_interval`` seconds (0.5 by
default): under a steady stream of batches every move of the ETags means the dashboard's figures
are built again, and a wallboard gains nothing from seeing them change twenty times a second.
Changes reach the streams at once, whatever the interval; the marks move to the last look's when
the interval has passed (with or without a new announcement), and ``fresh_marks()`` moves them at
once for a read that must see a write (``read_after``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import structlog

from tickets.consumers.change_log import TABLE as CHANGES
from tickets.consumers.change_log import Change, changes_between
from tickets.projections.readstore import READ_MODEL_CHANNEL, ReadStore, Tx

log = structlog.get_logger("tickets.serve")

#: Tickets whose last version handed on is remembered (to drop a repeated change).
REMEMBERED_TICKETS = 200_000
#: Looks handed to a subscriber and not yet taken, before it is told to start again.
SUBSCRIBER_BACKLOG = 10_000


@dataclass(frozen=True)
class Look:
    """What one look found: the changes since the last look, and the marks published (those the
    ETags cover now) with their position."""

    marks: dict[str, int]
    position: int
    changes: list[Change]
    #: Partitions whose offsets went back (a rebuild): a stream says so rather than guess.
    rewound: list[int] = field(default_factory=list)


#: Handed to a subscriber that fell ``SUBSCRIBER_BACKLOG`` looks behind: it must start again.
OVERFLOW = Look({}, 0, [])

#: A look on PostgreSQL in one statement: the group's offsets ('o'), the projections' positions
#: ('p') and, unless it is the first look, each partition's changes from the offset reached before
#: (``unnest`` of two arrays; 0 for a partition not seen yet) up to its committed offset ('c').
LOOK_SQL = f"""
WITH offsets AS (
    SELECT partition, next_offset FROM consumer_offsets WHERE group_id = %(group)s AND topic = %(topic)s),
seen AS (SELECT * FROM unnest(%(partitions)s::bigint[], %(starts)s::bigint[]) AS s(partition, start))
SELECT 'o', partition, next_offset, NULL, NULL, NULL, NULL, NULL::bigint, NULL::bigint FROM offsets
UNION ALL
SELECT 'p', NULL, position, projection, NULL, NULL, NULL, NULL, NULL FROM projection_positions
UNION ALL
SELECT 'c', c.partition, c.kafka_offset, c.ticket_id, c.ticket_number, c.desk, c.type, c.version,
       c.position
FROM offsets o LEFT JOIN seen s ON s.partition = o.partition,
LATERAL (SELECT * FROM {CHANGES} c WHERE c.group_id = %(group)s AND c.topic = %(topic)s
         AND c.partition = o.partition AND c.kafka_offset >= COALESCE(s.start, 0)
         AND c.kafka_offset < o.next_offset) c
WHERE NOT %(first)s"""


class Subscription:
    """The looks for one stream (or one wait), delivered on its own event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[Look] = asyncio.Queue()

    def deliver(self, look: Look) -> None:
        """Runs on the subscriber's loop."""
        if self.queue.qsize() >= SUBSCRIBER_BACKLOG:
            while not self.queue.empty():
                self.queue.get_nowait()
            look = OVERFLOW
        self.queue.put_nowait(look)

    async def next(self, timeout: float) -> Look | None:
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None


class ReadFollower:
    def __init__(self, store: ReadStore, group_id: str, topic: str, *,
                 channel: str = READ_MODEL_CHANNEL, retry_after: float = 1.0,
                 mark_interval: float = 0.5) -> None:
        self.store = store
        self.group_id = group_id
        self.topic = topic
        #: The marks' keys for the group's partitions start with this.
        self.prefix = f"{group_id}/"
        self._channel = channel
        self._retry_after = retry_after
        self._next: dict[int, int] | None = None  # partition -> next offset not looked at yet
        self._marks: dict[str, int] | None = None  # None: not listening, read at each call
        self.mark_interval = mark_interval
        self._looked: dict[str, int] | None = None  # the last look's marks, not published yet
        self._published_at = 0.0
        self._versions: OrderedDict[str, int] = OrderedDict()
        self._subscribers: set[Subscription] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._task: concurrent.futures.Future[None] | None = None

    def start_on(self, loop: asyncio.AbstractEventLoop) -> ReadFollower:
        """Follow in ``loop`` (the HTTP server's), beside the requests and the streams."""
        self._task = asyncio.run_coroutine_threadsafe(self._follow(), loop)
        return self

    def wait_listening(self, timeout: float) -> bool:
        return self._listening.wait(timeout)

    # ---- what the routes ask --------------------------------------------------------------

    def marks(self) -> dict[str, int]:
        kept = self._marks
        if kept is not None:
            return kept
        with self.store.snapshot() as tx:
            return self._read_marks(tx)[0]

    def fresh_marks(self) -> dict[str, int]:
        """Read the marks now and publish them (unless newer ones are out already)."""
        with self.store.snapshot() as tx:
            marks = self._read_marks(tx)[0]
        with self._lock:
            if self._marks is not None and self._position(self._marks) < self._position(marks):
                self._marks, self._published_at = marks, time.monotonic()
        return marks

    def _position(self, marks: dict[str, int]) -> int:
        return sum(v for k, v in marks.items() if k.startswith(self.prefix))

    def _publish_due(self, force: bool = False) -> bool:
        """Publish the last look's marks if the interval has passed since the last publication."""
        with self._lock:
            looked = self._looked
            if looked is None or not (force or time.monotonic() - self._published_at >= self.mark_interval):
                return False
            if self._marks is None or self._position(looked) >= self._position(self._marks):
                self._marks = looked
            self._looked, self._published_at = None, time.monotonic()
            return True

    def _published(self, changes: list[Change], rewound: list[int]) -> Look:
        marks = self._marks or {}
        return Look(marks, self._position(marks), changes, rewound)

    def subscribe(self) -> Subscription:
        subscription = Subscription(asyncio.get_running_loop())
        with self._lock:
            self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscribers.discard(subscription)

    # ---- the thread -----------------------------------------------------------------------

    def _read_marks(self, tx: Tx) -> tuple[dict[str, int], dict[int, int]]:
        offsets = {int(p): int(o) for p, o in tx.execute(
            "SELECT partition, next_offset FROM consumer_offsets WHERE group_id = ? AND topic = ?",
            (self.group_id, self.topic))}
        marks = {f"{self.prefix}{p}": o for p, o in sorted(offsets.items())}
        marks.update({str(n): int(v) for n, v in tx.execute(
            "SELECT projection, position FROM projection_positions")})
        return marks, offsets

    def look(self) -> Look:
        """Read the marks and the changes since the last look, in one snapshot (any database)."""
        with self.store.snapshot() as tx:
            marks, offsets = self._read_marks(tx)
            changes: list[Change] = []
            if self._next is not None:
                for partition, end in sorted(offsets.items()):
                    start = self._next.get(partition, 0)
                    if end > start:
                        changes += changes_between(tx, self.group_id, self.topic, partition, start, end)
        return self._took(marks, offsets, changes)

    async def look_on(self, conn: Any) -> Look:
        """``look`` on an asyncio PostgreSQL connection, in one statement (``LOOK_SQL``)."""
        seen = sorted((self._next or {}).items())
        cursor = await conn.execute(LOOK_SQL, {
            "group": self.group_id, "topic": self.topic, "first": self._next is None,
            "partitions": [p for p, _ in seen], "starts": [o for _, o in seen]})
        offsets: dict[int, int] = {}
        positions: dict[str, int] = {}
        changes: list[Change] = []
        for kind, partition, offset, text, number, desk, type_, version, position in await cursor.fetchall():
            if kind == "o":
                offsets[int(partition)] = int(offset)
            elif kind == "p":
                positions[str(text)] = int(offset)
            else:
                changes.append(Change(int(partition), int(offset), str(text), str(number), str(desk),
                                      str(type_), int(version), int(position)))
        changes.sort(key=lambda c: (c.partition, c.offset))
        marks = {f"{self.prefix}{p}": o for p, o in sorted(offsets.items())}
        marks.update(positions)
        return self._took(marks, offsets, changes)

    def _took(self, marks: dict[str, int], offsets: dict[int, int], changes: list[Change]) -> Look:
        """What a look read becomes: the offsets reached, the marks looked, the changes handed on."""
        seen = self._next if self._next is not None else offsets
        rewound = [p for p, end in sorted(offsets.items()) if end < seen.get(p, 0)]
        self._next = offsets
        with self._lock:
            self._looked = marks
        self._publish_due(force=self._marks is None)
        return self._published(self._fresh(changes), rewound)

    def _fresh(self, changes: list[Change]) -> list[Change]:
        fresh = []
        for change in changes:
            if self._versions.get(change.ticket_id, 0) >= change.version:
                continue
            self._versions[change.ticket_id] = change.version
            self._versions.move_to_end(change.ticket_id)
            fresh.append(change)
        while len(self._versions) > REMEMBERED_TICKETS:
            self._versions.popitem(last=False)
        return fresh

    def _hand_on(self, look: Look) -> None:
        """To every subscriber: at once on this loop, through its own loop's queue otherwise."""
        with self._lock:
            subscribers = list(self._subscribers)
        try:
            here: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        for subscription in subscribers:
            try:
                if subscription.loop is here:
                    subscription.deliver(look)
                else:
                    subscription.loop.call_soon_threadsafe(subscription.deliver, look)
            except RuntimeError:  # its loop is closed: the server stopped
                self.unsubscribe(subscription)

    async def _follow(self) -> None:
        import psycopg
        from psycopg import sql

        while not self._stop.is_set():
            try:
                async with await psycopg.AsyncConnection.connect(
                        self.store.url, autocommit=True, connect_timeout=self.store.connect_timeout) as conn:
                    await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
                    self._hand_on(await self.look_on(conn))  # what was committed before the LISTEN
                    self._listening.set()
                    log.info("read_follower_listening", group=self.group_id)
                    while not self._stop.is_set():
                        woken = False
                        wait = 0.5 if self._looked is None else max(0.0, min(
                            0.5, self._published_at + self.mark_interval - time.monotonic()))
                        async for _ in conn.notifies(timeout=wait, stop_after=1):
                            woken = True
                        if self._publish_due():  # the streams' position events follow the ETags
                            self._hand_on(self._published([], []))
                        if woken:
                            async for _ in conn.notifies(timeout=0):  # all waiting: one look
                                pass
                            self._hand_on(await self.look_on(conn))
            except Exception as error:  # a dropped connection: marks are read at each call meanwhile
                self._marks = None
                self._listening.clear()
                log.warning("read_follower_lost", error=type(error).__name__)
                await asyncio.sleep(self._retry_after)

    def close(self) -> None:
        """Stop following (the task ends with its loop too, when the server stops)."""
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
