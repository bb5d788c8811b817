"""What each token role may do over HTTP, in one table.

- ``dashboard``: the read models (ticket list and detail, queues, figures, the change stream);
  personal data masked.
- ``agent``: what a dashboard reads, with the requester's contact details (they answer the
  requester), and commands under their own name.
- ``service``: commands under its own name (or for others, as on the intake topic), and its own
  answers; no reads of tickets.
- ``auditor``: every read, the audit trail included, with personal data; no commands, but the
  erasure of a requester's personal data (``POST /api/privacy/erasures``).
"""

from __future__ import annotations

from enum import StrEnum

#: The roles a token is issued for.
ROLES = ("service", "agent", "auditor", "dashboard")


class Permission(StrEnum):
    READ = "read"  # ticket list and detail, queues, dashboard figures, the stream
    AUDIT = "audit"  # the audit trail
    WRITE = "write"  # POST /api/commands
    ANSWERS = "answers"  # GET /api/commands/{command_id}
    PERSONAL = "personal"  # personal data shown instead of masked
    ALL_ANSWERS = "all_answers"  # anyone's answers, not only one's own
    ERASE = "erase"  # POST /api/privacy/erasures: destroy a requester's key


GRANTS: dict[str, frozenset[Permission]] = {
    "dashboard": frozenset({Permission.READ}),
    "agent": frozenset({Permission.READ, Permission.WRITE, Permission.ANSWERS, Permission.PERSONAL}),
    "service": frozenset({Permission.WRITE, Permission.ANSWERS}),
    "auditor": frozenset({Permission.READ, Permission.AUDIT, Permission.ANSWERS, Permission.PERSONAL,
                          Permission.ALL_ANSWERS, Permission.ERASE}),
}


def may(role: str, permission: Permission) -> bool:
    return permission in GRANTS.get(role, frozenset())
