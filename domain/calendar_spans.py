"""Instants and spans as integer microseconds since the Unix epoch (UTC), and pauses over them.

Calendar arithmetic (``domain/calendar.py``) converts every instant to microseconds once, so adding
business time and measuring it again round-trips exactly. A span is a half-open ``(start, end)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta

#: A paused span, aware datetimes; ``None`` as the end means "still paused".
Pause = tuple[datetime, datetime | None]
Span = tuple[int, int]
#: A piece of an explained timeline: start, end, counted, reason.
Piece = tuple[int, int, bool, str]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FAR = 2**62  # microseconds: beyond any datetime, stands for "no end"
DAY_US = 86_400_000_000
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def instant_us(instant: datetime, what: str) -> int:
    """Microseconds since the epoch of an aware datetime; refuses naive ones."""
    try:
        delta = instant - EPOCH
    except TypeError:
        raise ValueError(f"{what} must be a timezone-aware datetime, not {instant!r}") from None
    if not isinstance(instant, datetime):
        raise ValueError(f"{what} must be a timezone-aware datetime, not {instant!r}")
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def duration_us(duration: timedelta) -> int:
    if duration < timedelta(0):
        raise ValueError(f"a duration of business time cannot be negative: {duration}")
    return (duration.days * 86_400 + duration.seconds) * 1_000_000 + duration.microseconds


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(0, 0, us)


def merge_pauses(pauses: Sequence[Pause]) -> list[Span]:
    """Pauses as sorted, merged microsecond spans; an open end becomes ``FAR``."""
    spans: list[Span] = []
    for pause in pauses:
        try:
            begin, finish = pause
        except (TypeError, ValueError):
            raise ValueError(f"a pause is a (start, end) pair, not {pause!r}") from None
        a = instant_us(begin, "pause start")
        b = FAR if finish is None else instant_us(finish, "pause end")
        if b < a:
            raise ValueError(f"a pause ends before it starts: {begin} .. {finish}")
        if b > a:
            spans.append((a, b))
    spans.sort()
    merged: list[Span] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def minus(spans: Iterable[Span], blocked: list[Span]) -> Iterator[Span]:
    """The parts of ordered ``spans`` outside the merged ``blocked`` spans; stops at an open end."""
    i, n = 0, len(blocked)
    for a, b in spans:
        while i < n and blocked[i][1] <= a:
            i += 1
        j = i
        while a < b:
            if j < n and blocked[j][0] < b:
                pause_start, pause_end = blocked[j]
                if pause_start > a:
                    yield a, pause_start
                if pause_end >= FAR:
                    return
                a = max(a, pause_end)
                j += 1
            else:
                yield a, b
                break


def overlay_pauses(pieces: list[Piece], blocked: list[Span]) -> Iterator[Piece]:
    """Re-label the paused parts of ordered, contiguous ``pieces`` as not counted, "paused"."""
    i, n = 0, len(blocked)
    for a, b, counted, reason in pieces:
        while i < n and blocked[i][1] <= a:
            i += 1
        j = i
        while a < b:
            if j < n and blocked[j][0] < b:
                pause_start, pause_end = blocked[j]
                if pause_start > a:
                    yield a, pause_start, counted, reason
                    a = pause_start
                stop = min(b, pause_end)
                yield a, stop, False, "paused"
                a = stop
                if pause_end <= b:
                    j += 1
            else:
                yield a, b, counted, reason
                break


def merge_pieces(pieces: Iterable[Piece]) -> list[Piece]:
    """Join neighbouring pieces that share a reason."""
    merged: list[Piece] = []
    for a, b, counted, reason in pieces:
        if merged and merged[-1][3] == reason and merged[-1][1] == a:
            merged[-1] = (merged[-1][0], b, counted, reason)
        else:
            merged.append((a, b, counted, reason))
    return merged
