"""One audit-trail entry as read back: the event, its hash-chain links, and a masked view.

``hash`` covers ``prev_hash`` and ``content()``; ``verifies()`` recomputes it. ``masked()`` hides
personal data (``PERSONAL_FIELDS`` in the Opened event's ``fields``) for readers without the right
to see it; a masked entry no longer verifies, by design.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from tickets.domain.opening import PERSONAL_FIELDS
from tickets.projections.envelope import RecordedTimes, chained_hash

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
        fields = self.payload.get("fields")
        if not isinstance(fields, Mapping) or not PERSONAL_FIELDS & fields.keys():
            return self
        hidden = {k: MASK if k in PERSONAL_FIELDS else v for k, v in fields.items()}
        return replace(self, payload={**self.payload, "fields": hidden})
