"""What a projection group lets in: the version gate, each envelope's hash and its link, decided once.

Every envelope is checked before any projection of the group applies it:

* its **version** against the ticket's last applied version: an older one is a duplicate
  (skipped), one that skips ahead is a gap;
* its **hash** recomputed over its content (``projections.audit_hash``): an envelope whose
  ``hash`` is not the hash of what it carries was altered or forged;
* its **link**: ``prev_hash`` must be the hash of the version applied before it (64 zeros before
  version 1), kept beside the applied version in ``projection_versions`` so that a group without
  the audit trail checks it too.

An envelope that fails the hash or the link is refused for every projection of the group
together (one decision per envelope, made in a first pass over every projection's batch), so no
projection applies what another sets aside. A refused envelope does not move the applied version,
so the real event for that version, arriving later, is applied, not skipped as a duplicate. A
version applied before hashes were kept (``hash`` null) is trusted for its link, once.

Pure: no I/O; ``projections.base.apply_read`` reads the heads and writes what this decides.
"""

from __future__ import annotations

from collections.abc import Sequence

from tickets.projections.audit_entry import payload_text
from tickets.projections.audit_hash import envelope_hash
from tickets.wire.envelope import GENESIS, Envelope

#: A ticket's last applied version and its hash (None: applied before hashes were kept).
Head = tuple[int, str | None]


def payload_json(envelope: Envelope) -> str:
    """The payload's canonical JSON, computed once per envelope (the audit trail stores it)."""
    cached = envelope.__dict__.get("_payload_json")
    if cached is None:
        cached = envelope.__dict__["_payload_json"] = payload_text(envelope.payload)
    return cached


def recomputed_hash(envelope: Envelope) -> str:
    """The hash of the envelope's content and ``prev_hash``, computed once per envelope."""
    cached = envelope.__dict__.get("_recomputed_hash")
    if cached is None:
        cached = envelope.__dict__["_recomputed_hash"] = envelope_hash(envelope, payload_json(envelope))
    return cached


def refusal(envelope: Envelope, head: Head) -> str | None:
    """Why ``envelope`` (the next version after ``head``) must not be applied, or None."""
    if recomputed_hash(envelope) != envelope.hash:
        return f"hash mismatch at version {envelope.version}: the hash is not that of the content"
    last, applied_hash = head
    expected = GENESIS if last == 0 else applied_hash
    if expected is not None and envelope.prev_hash != expected:
        return (f"broken link at version {envelope.version}: prev_hash is not the hash of "
                f"version {last} as applied")
    return None


def _conflict(envelope: Envelope, applied_hash: str) -> str | None:
    """Why a copy of the version applied last is not a duplicate of it, or None (it is one)."""
    if envelope.hash != applied_hash:
        return f"version {envelope.version} was applied with another hash"
    if recomputed_hash(envelope) != envelope.hash:
        return f"hash mismatch at version {envelope.version}: the hash is not that of the content"
    return None


def _gap(envelope: Envelope, last: int) -> str:
    return f"gap in versions: expected {last + 1}, got {envelope.version}"


def _refused_somewhere(work: Sequence[tuple[dict[str, Head], Sequence[Envelope]]]) -> dict[int, str]:
    """First pass: every envelope that some projection of the group would refuse, with why."""
    refused: dict[int, str] = {}
    for heads, batch in work:
        trial = dict(heads)
        for envelope in batch:
            last, _ = trial.get(envelope.ticket_id, (0, None))
            if envelope.version != last + 1:
                continue  # a duplicate or a gap: not applied here either way
            reason = refused.get(id(envelope)) or refusal(envelope, trial.get(envelope.ticket_id, (0, None)))
            if reason is not None:
                refused[id(envelope)] = reason
                continue
            trial[envelope.ticket_id] = (envelope.version, envelope.hash)
    return refused


def admit(
    work: Sequence[tuple[dict[str, Head], Sequence[Envelope]]],
) -> list[tuple[list[Envelope], list[tuple[Envelope, str]]]]:
    """Per (heads, batch) of each projection: the envelopes to apply and those set aside, with why.

    Each projection's ``heads`` (ticket → head) is moved on past the envelopes it is to apply.
    The usual group, every projection fed the same batch from the same heads, is judged once.
    """
    if not work:
        return []
    heads, batch = work[0]
    if all(other is batch and mine == heads for mine, other in work[1:]):
        fresh, aside = _admit(heads, batch, {})
        for mine, _ in work[1:]:
            mine.clear()
            mine.update(heads)
        return [(fresh, list(aside)) for _ in work]  # one list of what is let in, for all of them
    refused = _refused_somewhere(work)
    return [_admit(mine, other, refused) for mine, other in work]


def _admit(
    heads: dict[str, Head], batch: Sequence[Envelope], refused: dict[int, str],
) -> tuple[list[Envelope], list[tuple[Envelope, str]]]:
    fresh: list[Envelope] = []
    aside: list[tuple[Envelope, str]] = []
    none: Head = (0, None)
    for envelope in batch:
        head = heads.get(envelope.ticket_id, none)
        last, applied_hash = head
        version = envelope.version
        if version <= last:
            if version == last and applied_hash is not None:
                conflict = _conflict(envelope, applied_hash)
                if conflict is not None:
                    aside.append((envelope, conflict))
            continue  # a duplicate: already applied
        if version != last + 1:
            aside.append((envelope, _gap(envelope, last)))
            continue
        reason = refused.get(id(envelope)) if refused else None
        if reason is None:
            reason = refusal(envelope, head)
        if reason is not None:
            aside.append((envelope, reason))
            continue
        heads[envelope.ticket_id] = (version, envelope.hash)
        fresh.append(envelope)
    return fresh, aside
