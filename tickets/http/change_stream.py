"""The change stream of ``tickets serve``: woken by the read models' announcements, never polling.

Each connection subscribes to the process's ``ReadFollower``. It opens with ``event: position``
(the marks now); then, for every look that found something, one ``event: change`` per ticket
event the consumer group committed (ticket id, number, desk, type, version, store position; each
ticket's changes in order, none twice) and one ``event: position`` with the new marks. When the
minute turns with no change it sends ``event: clock``, and a comment line every
``stream_heartbeat`` seconds of quiet. A partition whose offsets went back (a rebuild) gives
``event: rewound``; a connection that falls far behind gets ``event: reset`` and is closed (the
client reconnects and refetches).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from tickets.consumers.change_log import Change
from tickets.domain.scope import EVERY_DESK, DeskScope
from tickets.http.context import HttpContext
from tickets.http.read_follower import OVERFLOW, Look, ReadFollower
from tickets.http.stream import sse
from tickets.output import iso

#: Seconds between two looks at ``closing`` while nothing comes.
CLOSING_CHECK = 0.5


def change_data(change: Change) -> dict[str, Any]:
    return {"ticket_id": change.ticket_id, "number": change.number, "desk": change.desk,
            "type": change.type, "version": change.version, "position": change.position}


def _position(look: Look, moved: list[str], now: datetime) -> str:
    return sse("position", {"position": look.position, "moved": moved, "positions": look.marks,
                            "as_of": iso(now)}, look.position)


async def shared_changes(ctx: HttpContext, follower: ReadFollower,
                         desks: DeskScope = EVERY_DESK) -> AsyncIterator[str]:
    """The stream over the shared read models. A caller on some desks is told only of its desks'
    changes, and of a move only when one of them made it (as ``stream_scope`` does embedded)."""
    subscription = follower.subscribe()
    try:
        marks = follower.marks()
        current = Look(marks, ctx.reads.position(marks), [])
        now = ctx.clock.now()
        minute = now.replace(second=0, microsecond=0)
        yield _position(current, sorted(marks), now)
        quiet_since = time.monotonic()
        while not ctx.closing.is_set():
            look = await subscription.next(CLOSING_CHECK)
            now = ctx.clock.now()
            if look is OVERFLOW:
                yield sse("reset", {"reason": "fell behind", "as_of": iso(now)})
                return
            # (a look is shared by every subscriber: the desks' filter makes its own list)
            seen = None if look is None else look.changes if desks.every else [
                c for c in look.changes if desks.covers(c.desk)]
            if look is not None and seen is not None and not desks.every and not seen:
                current, look = look, None  # only other desks moved: nothing to tell
            if look is not None and seen is not None and (seen or look.marks != current.marks):
                moved = sorted(k for k, v in look.marks.items() if current.marks.get(k) != v)
                parts = [sse("change", change_data(c)) for c in seen]
                if look.rewound and desks.every:
                    parts.append(sse("rewound", {"partitions": look.rewound, "as_of": iso(now)}))
                yield "".join(parts) + _position(look, moved, now)
                current = look
            elif now.replace(second=0, microsecond=0) != minute:
                yield sse("clock", {"position": current.position, "as_of": iso(now)}, current.position)
            elif time.monotonic() - quiet_since >= ctx.stream_heartbeat:
                yield ": still here\n\n"
            else:
                continue
            minute, quiet_since = now.replace(second=0, microsecond=0), time.monotonic()
    finally:
        follower.unsubscribe(subscription)
