"""Who may see personal data in replays and exports, and the masking applied to everyone else.

Personal data is the Opened event's ``fields`` named in ``PERSONAL_FIELDS``. Only the ``auditor``
role may ask to see it unmasked; the CLI passes ``--role`` for now, the HTTP layer will pass the
caller's real role. A masked value is ``***``: a masked row no longer verifies against its hash,
by design (the hash covers what was recorded, not what is shown).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tickets.domain.errors import EntitlementError, ValidationError
from tickets.domain.opening import PERSONAL_FIELDS

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
    fields = payload.get("fields")
    if not isinstance(fields, Mapping) or not PERSONAL_FIELDS & fields.keys():
        return payload, False
    hidden = {k: MASK if k in PERSONAL_FIELDS else v for k, v in fields.items()}
    return {**payload, "fields": hidden}, True
