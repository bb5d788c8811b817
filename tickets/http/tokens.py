"""API tokens: created once, shown once, stored only as a SHA-256 hash in the read-model database.

A token is ``tkt_`` and 43 random URL-safe characters (256 bits). Its hash is the key of
``http_tokens``; the row says whose it is (``name``, an actor id, so it can stand as
``service:<name>`` or ``agent:<name>`` in events), its ``role``, and when it was created and
revoked. A name holds at most one live token: revoke it before issuing a new one. Revoked rows stay,
as the record of who could call the API when.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from tickets.domain.actor import Actor
from tickets.domain.clock import Clock, SystemClock
from tickets.domain.errors import LifecycleError, TicketNotFoundError, ValidationError
from tickets.http.roles import ROLES
from tickets.projections.envelope import format_time, parse_time
from tickets.projections.readstore import ReadStore

PREFIX = "tkt_"
DDL = (
    """CREATE TABLE IF NOT EXISTS http_tokens (
        token_hash TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,
        created_at TEXT NOT NULL, revoked_at TEXT NULL)""",
    "CREATE INDEX IF NOT EXISTS http_tokens_name ON http_tokens (name, revoked_at)",
)


@dataclass(frozen=True)
class TokenInfo:
    name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def live(self) -> bool:
        return self.revoked_at is None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _info(row: tuple[str, str, str, str | None]) -> TokenInfo:
    name, role, created, revoked = row
    return TokenInfo(name, role, parse_time(created), None if revoked is None else parse_time(revoked))


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValidationError(f"role must be one of {', '.join(ROLES)}", field="role", rule="known_role")
    return role


class TokenStore:
    def __init__(self, store: ReadStore, clock: Clock | None = None) -> None:
        self.store = store
        self.clock: Clock = clock or SystemClock()
        with store.transaction() as tx:
            for statement in DDL:
                tx.execute(statement)

    def create(self, name: str, role: str) -> str:
        """Issue a token for ``name``; return it (the only time it is ever seen in clear)."""
        Actor("service", name)  # the name has an actor id's shape
        check_role(role)
        token = PREFIX + secrets.token_urlsafe(32)
        with self.store.transaction() as tx:
            if tx.execute("SELECT 1 FROM http_tokens WHERE name = ? AND revoked_at IS NULL", (name,)):
                raise LifecycleError(f"{name} already has a live token; revoke it first",
                                     field="name", rule="one_live_token")
            tx.execute(
                "INSERT INTO http_tokens (token_hash, name, role, created_at) VALUES (?, ?, ?, ?)",
                (token_hash(token), name, role, format_time(self.clock.now())),
            )
        return token

    def revoke(self, name: str) -> int:
        """Revoke the live token of ``name``; refuse when there is none."""
        with self.store.transaction() as tx:
            live = tx.execute("SELECT token_hash FROM http_tokens WHERE name = ? AND revoked_at IS NULL",
                              (name,))
            if not live:
                raise TicketNotFoundError(f"{name} has no live token", field="name", rule="live_token")
            tx.execute("UPDATE http_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                       (format_time(self.clock.now()), name))
        return len(live)

    def all(self) -> list[TokenInfo]:
        rows = self.store.read(
            "SELECT name, role, created_at, revoked_at FROM http_tokens ORDER BY name, created_at"
        )
        return [_info(row) for row in rows]

    def find(self, token: str) -> TokenInfo | None:
        """The token's row (live or revoked), or None for a token never issued."""
        if not token.startswith(PREFIX) or len(token) > 128:
            return None
        rows = self.store.read(
            "SELECT name, role, created_at, revoked_at FROM http_tokens WHERE token_hash = ?",
            (token_hash(token),),
        )
        return _info(rows[0]) if rows else None
