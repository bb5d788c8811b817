"""One audit-trail entry as read back: the event, its hash-chain links, and a masked view.

``hash`` covers ``prev_hash`` and ``content()``; ``verifies()`` recomputes it. ``masked()`` hides
personal data (``PERSONAL_FIELDS`` in the Opened event's ``fields``, and every sealed value) for
readers without the right to see it; ``opened()`` opens sealed values for those with it, at read
time (the trail stores them sealed). Either entry no longer verifies, by design.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from tickets.domain.personal import Opener, hidden, open_payload
from tickets.wire.envelope import RecordedTimes, chained_hash

MASK = "***"
COLUMNS = (
    "ticket_id", "version", "number", "desk", "type", "occurred_at", "recorded_at", "actor",
    "channel", "payload", "prev_hash", "hash", "position",
)


#: ``json.dumps(..., sort_keys=True, separators=(",", ":"), ensure_ascii=False)``, built once.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def payload_text(payload: Mapping[str, Any]) -> str:
    """The payload as stored: JSON, keys sorted, so equal payloads are equal text."""
    return _CANONICAL(payload)


@dataclass(frozen=True)
class AuditEntry(RecordedTimes):
    """One event as the trail holds it; times are the envelope's ISO text (what the hash covers)."""

    ticket_id: str
    version: int
    number: str
    desk: str
    type: str
    occurred_at: str
    recorded_at: str
    actor: str
    channel: str
    payload: Mapping[str, Any]
    prev_hash: str
    hash: str
    position: int

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> AuditEntry:
        values = dict(zip(COLUMNS, row, strict=True))
        values["payload"] = json.loads(values["payload"])
        values["version"], values["position"] = int(values["version"]), int(values["position"])
        return cls(**values)

    @property
    def cursor(self) -> str:
        """Pass as ``trail(after=...)`` to read the page that follows this entry."""
        return f"{self.occurred_at}|{self.ticket_id}|{self.version}"

    def content(self) -> dict[str, Any]:
        """What the hash covers (see ``projections.envelope.hashed_content``)."""
        return {
            "ticket_id": self.ticket_id, "ticket_number": self.number, "desk": self.desk,
            "type": self.type, "version": self.version, "occurred_at": self.occurred_at,
            "recorded_at": self.recorded_at, "actor": self.actor, "channel": self.channel,
            "payload": self.payload,
        }

    def verifies(self) -> bool:
        """Whether ``hash`` covers ``prev_hash`` and this entry's content (a masked entry never does)."""
        return chained_hash(self.prev_hash, self.content()) == self.hash

    def masked(self) -> AuditEntry:
        """The entry with the values of personal fields replaced by ``***``."""
        payload: dict[str, Any] = dict(self.payload)
        if hidden("title", payload.get("title")):
            payload["title"] = MASK
        fields = self.payload.get("fields")
        if isinstance(fields, Mapping) and any(hidden(k, v) for k, v in fields.items()):
            payload["fields"] = {k: MASK if hidden(k, v) else v for k, v in fields.items()}
        return self if payload == self.payload else replace(self, payload=payload)

    def opened(self, opener: Opener) -> AuditEntry:
        """The entry with its sealed values opened (``[erased]`` where the key is destroyed)."""
        payload = open_payload(opener, self.payload)
        return self if payload is self.payload else replace(self, payload=payload)
