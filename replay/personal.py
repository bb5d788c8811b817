"""Who may see personal data in replays and exports, and the masking applied to everyone else.

Personal data is the Opened event's ``fields`` named in ``PERSONAL_FIELDS`` and every value sealed
under a data subject's key (``domain.personal``). Only the ``auditor`` role may ask to see it
unmasked; the CLI passes ``--role`` for now, the HTTP layer will pass the caller's real role. A
masked value is ``***``; an unmasked sealed value is opened at read time, and reads ``[erased]``
once its subject's key is destroyed. Either way a row that shows something other than what was
stored no longer verifies against its hash, by design (the hash covers what was recorded).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tickets.domain.errors import EntitlementError, ValidationError
from tickets.domain.personal import Opener, hidden, open_payload

MASK = "***"
ROLES = ("service", "agent", "auditor", "dashboard")
UNMASKING_ROLES = frozenset({"auditor"})


def may_unmask(show_personal: bool, role: str | None) -> bool:
    """Whether personal data is shown; asking without the right is refused, not silently masked."""
    if role is not None and role not in ROLES:
        raise ValidationError(
            f"role {role!r} is not one of {', '.join(ROLES)}", field="role", rule="known_role"
        )
    if not show_personal:
        return False
    if role not in UNMASKING_ROLES:
        raise EntitlementError(
            f"only the auditor role may see personal data unmasked, not {role or 'no role'}",
            field="role", rule="unmask_personal_data",
        )
    return True


def mask_payload(payload: Mapping[str, Any]) -> tuple[Mapping[str, Any], bool]:
    """The payload with personal field values replaced by ``***``, and whether anything was hidden."""
    shown: dict[str, Any] = dict(payload)
    if hidden("title", payload.get("title")):
        shown["title"] = MASK
    fields = payload.get("fields")
    if isinstance(fields, Mapping) and any(hidden(k, v) for k, v in fields.items()):
        shown["fields"] = {k: MASK if hidden(k, v) else v for k, v in fields.items()}
    if shown == payload:
        return payload, False
    return shown, True


def shown_payload(payload: Mapping[str, Any], unmask: bool,
                  opener: Opener) -> tuple[Mapping[str, Any], bool]:
    """The payload as a reader sees it, and whether it differs from what was stored."""
    if not unmask:
        return mask_payload(payload)
    opened = open_payload(opener, payload)
    return opened, opened is not payload
