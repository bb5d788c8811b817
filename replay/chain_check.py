"""One ticket's hash chain, recomputed from the store and compared with the chain the audit trail holds.

Pure: it takes the store's events (already decoded, or the reason they cannot be) and the trail's
entries, and says, event by event, what differs. Each event is judged on its own content, so one
altered event shows as one finding; the chain itself breaks at the first version where the
recomputed hash and the recorded one part, and stays broken after it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tickets.projections.audit_entry import AuditEntry
from tickets.wire.envelope import GENESIS, chained_hash

#: What each finding means, for people and for the JSON report.
KINDS = {
    "altered": "the stored event differs from what the trail recorded",
    "removed": "the trail recorded an event the store no longer holds",
    "reordered": "the stored event is one the trail recorded at another version",
    "trail_altered": "the trail's own entry does not verify against its hash chain",
    "trail_gap": "the store holds an event the trail skipped",
    "refused_by_trail": "the audit trail set this event aside when it was projected",
    "applied_unknown": "a projection applied an event the store does not hold",
    "applied_altered": "a projection applied this version with another hash than the store's",
}


@dataclass(frozen=True)
class StoredContent:
    """An event as read from the store: what the hash covers, or why it could not be read."""

    version: int
    content: Mapping[str, Any] | None
    unreadable: str | None = None


@dataclass(frozen=True)
class Finding:
    ticket_id: str
    number: str
    version: int
    kind: str
    detail: str


@dataclass
class TicketCheck:
    ticket_id: str
    number: str
    store_events: int
    trail_entries: int
    broken_at: int | None = None
    pending: list[int] = field(default_factory=list)  # in the store, not yet in the trail
    findings: list[Finding] = field(default_factory=list)


def _without_version(content: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in content.items() if k != "version"}


def differing_keys(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """Names of what differs (payload keys as ``payload.x``); never the values, which may be personal."""
    keys = []
    for key in sorted(a.keys() | b.keys()):
        left, right = a.get(key), b.get(key)
        if key == "payload" and isinstance(left, Mapping) and isinstance(right, Mapping):
            keys += [f"payload.{k}" for k in differing_keys(left, right)]
        elif left != right:
            keys.append(key)
    return keys


def check_chain(
    ticket_id: str, number: str, stored: Sequence[StoredContent], trail: Sequence[AuditEntry],
    refused: Mapping[int, str] | None = None,
    applied: Sequence[tuple[str, int, str | None]] = (),
) -> TicketCheck:
    """``refused``: versions the audit trail projection set aside, with its reason; ``applied``:
    each projection's last applied (projection, version, hash) of the ticket, held against the
    store's own chain (a hash kept as null, from before hashes were kept, is not compared)."""
    check = TicketCheck(ticket_id, number, len(stored), len(trail))
    held = {e.version: e for e in trail}
    by_version = {s.version: s for s in stored}
    head = max(held, default=0)
    recorded_at = {_key(e.content()): e.version for e in trail}

    def find(version: int, kind: str, detail: str) -> None:
        check.findings.append(Finding(ticket_id, number, version, kind, detail))

    prev_trail, prev_store = GENESIS, GENESIS
    store_hashes: dict[int, str] = {}
    for version in sorted(held.keys() | by_version.keys()):
        entry, event = held.get(version), by_version.get(version)
        store_hash = None
        if event is not None and event.content is not None:
            store_hash = prev_store = store_hashes[version] = chained_hash(prev_store, event.content)
        if entry is None:
            if refused and version in refused:
                find(version, "refused_by_trail", f"{KINDS['refused_by_trail']}: {refused[version]}")
            elif version > head:
                check.pending.append(version)
            else:
                find(version, "trail_gap", KINDS["trail_gap"])
            continue
        if entry.prev_hash != prev_trail or not entry.verifies():
            find(version, "trail_altered", KINDS["trail_altered"])
        prev_trail = entry.hash
        if store_hash != entry.hash and check.broken_at is None:
            check.broken_at = version
        if event is None:
            find(version, "removed", KINDS["removed"])
        elif event.content is None:
            find(version, "altered", f"the stored event cannot be read: {event.unreadable}")
        elif event.content != entry.content():
            moved = recorded_at.get(_key(event.content))
            if moved is not None and moved != version:
                find(version, "reordered", f"the event the trail recorded as version {moved}")
            else:
                find(version, "altered", "differs in " + ", ".join(
                    differing_keys(event.content, entry.content())))
    # Past a version where the store's chain already breaks, every later hash differs: said once.
    before_break = check.broken_at if check.broken_at is not None else max(by_version, default=0) + 1
    for projection, version, applied_hash in applied:
        if version not in by_version:
            find(version, "applied_unknown", f"{KINDS['applied_unknown']} ({projection})")
        elif (applied_hash is not None and version < before_break and version in store_hashes
              and applied_hash != store_hashes[version]):
            find(version, "applied_altered", f"{KINDS['applied_altered']} ({projection})")
    return check


def _key(content: Mapping[str, Any]) -> str:
    return chained_hash(GENESIS, _without_version(content))
