"""Personal data in responses: shown to roles with the PERSONAL permission, ``***`` for the rest.

Personal data is the ``PERSONAL_FIELDS`` of a ticket's fields (contact name, e-mail, phone) and
every value sealed under a data subject's key, wherever they appear: the ticket's ``fields`` and
the Opened event's payload in the audit trail. Sealed values are opened here, at read time, for
the roles that may see them: once the subject's key is destroyed they read ``[erased]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tickets.domain.personal import Opener, hidden, open_values
from tickets.projections.audit_entry import MASK, AuditEntry


def fields_for(fields: Mapping[str, Any], show_personal: bool, opener: Opener) -> dict[str, Any]:
    if show_personal:
        return open_values(opener, fields)
    return {k: MASK if hidden(k, v) else v for k, v in fields.items()}


def title_for(title: str, show_personal: bool, opener: Opener) -> str:
    if not hidden("title", title):
        return title
    return opener.open("title", title) if show_personal else MASK


def entry_for(entry: AuditEntry, show_personal: bool, opener: Opener) -> AuditEntry:
    return entry.opened(opener) if show_personal else entry.masked()
