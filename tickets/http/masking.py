"""Personal data in responses: shown to roles with the PERSONAL permission, ``***`` for the rest.

Personal data is the ``PERSONAL_FIELDS`` of a ticket's fields (contact name, e-mail, phone),
wherever they appear: the ticket's ``fields`` and the Opened event's payload in the audit trail.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tickets.domain.opening import PERSONAL_FIELDS
from tickets.projections.audit_entry import MASK, AuditEntry


def fields_for(fields: Mapping[str, Any], show_personal: bool) -> dict[str, Any]:
    if show_personal:
        return dict(fields)
    return {k: MASK if k in PERSONAL_FIELDS else v for k, v in fields.items()}


def entry_for(entry: AuditEntry, show_personal: bool) -> AuditEntry:
    return entry if show_personal else entry.masked()
