"""What projections derive from a ticket's facts, computed once when several projections ask.

The SLA timers, the escalation queues and the dashboard each fold their own copy of a ticket's
``TicketFacts`` (so each rebuilds on its own), and in one feed step each folds the same envelopes,
computes the ticket's clocks as of its last event and writes the facts as JSON: three times the
same work on equal facts. ``fold``, ``compute`` and ``dump_facts`` are pure, so equal inputs give
equal results, and these memos hand the second and third projection the first one's result.

The fold memo is keyed by identity — the envelope's cached history entry, with the facts object
folded from checked by identity — and keeps both objects, so an id cannot be reused while its
entry is held. Once a
ticket's facts come from the memo, every projection folds on from the same object and hits it.

The reports and texts are keyed by the facts' identity too (hashing the facts field by field cost
more than the lookups saved), with the facts kept in the entry and checked by identity, so an id
is never read for another object; ``now`` is the instant ``compute`` uses (``max(now,
last_occurred_at)``), and the desk is matched by identity *and* kept in the entry, so a reloaded
catalogue never reads another desk's report. Facts are immutable, so nothing here can outlive a
rolled-back transaction wrongly: an entry says only "these facts give this result", whichever
projection asked and whether or not it committed. The memos are small and cleared when full: the
runner asks every projection about one envelope, or one ticket, before going on to the next
(``projections.runner.fold`` and ``derive``).

The facts each projection reads back as JSON are, for a ticket, the same text in every projection
(``facts_text``), so ``facts_of`` parses a text once and hands every projection the same object —
which then meets the fold memo by identity, so the projections fold each envelope once between them.
A text ``facts_text`` wrote is not parsed at all: reading it back gives the facts it was written
from, which ``load_facts`` would rebuild field for field (a test holds the round trip exact, types
included).
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from tickets.domain.facts import TicketFacts, fold
from tickets.domain.history import HistoryEntry
from tickets.domain.policy import Desk
from tickets.domain.sla import SlaReport, compute
from tickets.projections.facts_state import dump_facts, load_facts

K = TypeVar("K")
V = TypeVar("V")

#: Entries kept: several default batches' worth of tickets (a batch of 1000 touches at most 1000).
LIMIT = 8192

_reports: dict[tuple[int, datetime, int], tuple[TicketFacts, Desk, SlaReport]] = {}
_texts: dict[int, tuple[TicketFacts, str]] = {}
_parsed: dict[str, TicketFacts] = {}
_folds: dict[int, tuple[TicketFacts | None, HistoryEntry, TicketFacts]] = {}
#: The last fold made: the runner hands one envelope to every projection in turn, so the next
#: projection to fold it asks for exactly this (checked by identity, then ``_folds``).
_last: tuple[object, object, object] = (None, None, None)
#: Whether the last fold was asked for again. When projections fold a batch one after another
#: rather than in turn, nobody asks for it before the next fold replaces it: then it is kept in
#: ``_folds`` for the projections behind. In turn (the usual group), ``_folds`` is left alone.
_again = True


def folded(facts: TicketFacts | None, entry: HistoryEntry) -> TicketFacts:
    """``fold(facts, entry)``, shared by every projection that folds the same objects."""
    global _last, _again
    last = _last
    if last[1] is entry and last[0] is facts:  # the projection before this one, same envelope
        _again = True
        return last[2]  # type: ignore[return-value]
    held = _folds.get(id(entry))
    if held is not None and held[0] is facts and held[1] is entry:
        return held[2]
    result = fold(facts, entry)
    if not _again:
        _kept(_folds, id(last[1]), last)  # type: ignore[arg-type, misc]
    _last, _again = (facts, entry, result), False
    return result


def sla_report(facts: TicketFacts, desk: Desk, now: datetime) -> SlaReport:
    """``compute(facts, desk, now)``, shared by every projection that asks with equal inputs."""
    now = max(now, facts.last_occurred_at)
    key = (id(facts), now, id(desk))
    held = _reports.get(key)
    if held is not None and held[0] is facts and held[1] is desk:
        return held[2]
    report = compute(facts, desk, now)
    if len(_reports) >= LIMIT:
        _reports.clear()
    _reports[key] = (facts, desk, report)
    return report


def facts_text(facts: TicketFacts) -> str:
    """``dump_facts(facts)``, shared by every projection that stores equal facts."""
    held = _texts.get(id(facts))
    if held is not None and held[0] is facts:
        return held[1]
    text = dump_facts(facts)
    _kept(_texts, id(facts), (facts, text))
    if text not in _parsed:
        _kept(_parsed, text, facts)
    return text


def facts_of(text: str) -> TicketFacts:
    """``load_facts(text)``, shared by every projection that reads equal text."""
    facts = _parsed.get(text)
    if facts is None:
        facts = _kept(_parsed, text, load_facts(text))
    return facts


def _kept(memo: dict[K, V], key: K, value: V) -> V:
    """``value``, kept in ``memo`` under ``key`` (the memo emptied first when full)."""
    if len(memo) >= LIMIT:
        memo.clear()
    memo[key] = value
    return value


def clear() -> None:
    """Forget every result (benchmarks start each run cold; nothing else needs this)."""
    global _last, _again
    _folds.clear()
    _last, _again = (None, None, None), True
    _reports.clear()
    _texts.clear()
    _parsed.clear()
