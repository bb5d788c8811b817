"""Before a rebuilt read model replaces the live one: the history the live audit trail recorded stays.

The live audit trail is the record of what each ticket's events were when they happened, each row
chained to the one before by its hash. A rebuild seals the events as the store holds them *now*:
had someone changed the store behind the engine's back, the rebuilt trail would carry the changed
events under fresh hashes that chain perfectly, and swapping it in would make ``tickets replay
verify`` pass over the change. So before a swap every row the live trail holds up to the rebuilt
position must be in the rebuilt trail with the same hash (which covers the event's content and
the hash before it). Rows only the rebuilt trail holds are fine: events the live trail set aside
when its chain broke (and the store has since been restored from a backup, which is how a broken
chain is repaired), or that it had not reached yet.

The comparison streams both tables in key order (code-point order on either database), so it
holds no table in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import structlog

from tickets.domain.errors import ValidationError
from tickets.projections.audit_trail import AuditTrailProjection
from tickets.projections.readstore import ReadStore
from tickets.projections.runner import position_of
from tickets.replay.compare import matched, ordered_rows

EXAMPLES = 20  # (ticket id, version) pairs kept per kind; the counts are always complete
TRAIL = AuditTrailProjection.name

Key = tuple[str, int]
log = structlog.get_logger("tickets.replay")


@dataclass
class HistoryCheck:
    """How the rebuilt audit trail compares with the live one, up to the rebuilt position."""

    position: int
    compared: int = 0
    removed: int = 0  # in the live trail, not in the rebuilt one
    rewritten: int = 0  # in both, with another hash
    added: int = 0  # only in the rebuilt trail (set aside or not yet reached by the live one)
    examples: dict[str, list[Key]] = field(default_factory=lambda: {"removed": [], "rewritten": []})

    @property
    def kept(self) -> bool:
        return not (self.removed or self.rewritten)

    def note(self, kind: str, key: Key) -> None:
        if len(self.examples[kind]) < EXAMPLES:
            self.examples[kind].append(key)

    def refusal(self) -> ValidationError:
        shown = ", ".join(f"{kind} {ticket} v{version}" for kind, keys in self.examples.items()
                          for ticket, version in keys[:3])
        return ValidationError(
            f"the rebuilt audit trail does not keep the history the live one recorded: "
            f"{self.rewritten} event(s) rewritten, {self.removed} removed (e.g. {shown}); the "
            "event store changed after those events were recorded. Run `tickets replay verify`, "
            "restore the events from a backup and rebuild again, or swap with "
            "--accept-changed-history to replace the recorded history on purpose",
            field="swap", rule="audit_history_kept")

    def as_json(self) -> dict[str, object]:
        return {"position": self.position, "compared": self.compared, "removed": self.removed,
                "rewritten": self.rewritten, "added": self.added, "kept": self.kept,
                "examples": {k: [list(key) for key in v] for k, v in self.examples.items()}}


def _hashes(store: ReadStore, position: int) -> Iterator[tuple[Key, str]]:
    rows = ordered_rows(store, "audit_trail", ("ticket_id", "version", "hash"),
                        ("ticket_id", "version"), "position <= ?", (position,))
    for ticket_id, version, digest in rows:
        yield (str(ticket_id), int(version)), str(digest)


def check_history(live: ReadStore, rebuilt: ReadStore) -> HistoryCheck:
    """Compare the live trail's rows up to the rebuilt trail's position with the rebuilt ones."""
    with rebuilt.snapshot() as tx:
        position = position_of(tx, TRAIL)
    check = HistoryCheck(position)
    pairs = matched(_hashes(live, position), _hashes(rebuilt, position), lambda row: row[0])
    for key, a, b in pairs:
        if b is None:
            check.removed += 1
            check.note("removed", key)
        elif a is None:
            check.added += 1
        else:
            check.compared += 1
            if a[1] != b[1]:
                check.rewritten += 1
                check.note("rewritten", key)
    return check


def guard_swap(live_url: str, rebuilt_url: str, *, accept_changed_history: bool = False) -> HistoryCheck:
    """Refuse (``rule=audit_history_kept``) a swap that would replace recorded history, unless asked to."""
    live, rebuilt = ReadStore(live_url), ReadStore(rebuilt_url)
    try:
        check = check_history(live, rebuilt)
    finally:
        live.close()
        rebuilt.close()
    if not check.kept:
        if not accept_changed_history:
            raise check.refusal()
        # Replacing recorded history is an auditor's concern: it leaves a trace in the logs.
        log.warning("audit_history_replaced", position=check.position, rewritten=check.rewritten,
                    removed=check.removed, first=[f"{t} v{v}" for kind in check.examples.values()
                                                  for t, v in kind[:3]])
    return check
