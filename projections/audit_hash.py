"""The audit trail's own check of an envelope's hash, recomputed from the fields it carries.

The hash covers the canonical JSON of the envelope's content (``projections.envelope``: keys
sorted, no spaces, UTF-8). The trail stores the payload as that same canonical JSON, so the check
builds the content's text around the payload text it already has, instead of encoding the payload
a second time inside the whole map. The text is byte for byte what ``json.dumps`` gives for
``envelope_content`` (a test holds them equal); a field of any other type than the usual ``str``
and ``int`` takes the general path.
"""

from __future__ import annotations

import hashlib
from json.encoder import encode_basestring
from typing import Any

from tickets.wire.envelope import Envelope, chained_hash


def envelope_content(envelope: Envelope) -> dict[str, Any]:
    """What the hash covers, taken from the envelope's fields as carried.

    The same map as ``projections.envelope.hashed_content`` (a test holds them equal), built without
    parsing and re-formatting the times, which would cost more than the rest of the projection.
    """
    return {
        "ticket_id": envelope.ticket_id, "ticket_number": envelope.ticket_number,
        "desk": envelope.desk, "type": envelope.type, "version": envelope.version,
        "occurred_at": envelope.occurred_at, "recorded_at": envelope.recorded_at,
        "actor": envelope.actor, "channel": envelope.channel, "payload": envelope.payload,
    }


def envelope_hash(envelope: Envelope, payload_text: str | None = None) -> str:
    """The hash recomputed from the envelope's fields, ignoring the ``hash`` it carries.

    ``payload_text``, when given, must be the payload's canonical JSON (``payload_text``).
    """
    canonical = None if payload_text is None else canonical_text(envelope, payload_text)
    if canonical is None:
        return chained_hash(envelope.prev_hash, envelope_content(envelope))
    return hashlib.sha256(
        envelope.prev_hash.encode("ascii") + canonical.encode("utf-8")
    ).hexdigest()


def canonical_text(envelope: Envelope, payload_text: str) -> str | None:
    """The content's canonical JSON around ``payload_text``; None when a field is not plain."""
    e = envelope
    if type(e.version) is not int or not all(type(v) is str for v in (
            e.actor, e.channel, e.desk, e.occurred_at, e.recorded_at, e.ticket_id,
            e.ticket_number, e.type)):
        return None
    q = encode_basestring
    return (
        f'{{"actor":{q(e.actor)},"channel":{q(e.channel)},"desk":{q(e.desk)},'
        f'"occurred_at":{q(e.occurred_at)},"payload":{payload_text},'
        f'"recorded_at":{q(e.recorded_at)},"ticket_id":{q(e.ticket_id)},'
        f'"ticket_number":{q(e.ticket_number)},"type":{q(e.type)},'
        f'"version":{int.__repr__(e.version)}}}'
    )
