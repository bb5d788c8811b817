"""API tokens: created once, shown once, stored only as a SHA-256 hash in the read-model database.

A token is ``tkt_`` and 43 random URL-safe characters (256 bits). Its hash is the key of
``http_tokens``; the row says whose it is (``name``, an actor id, so it can stand as
``service:<name>`` or ``agent:<name>`` in events), its ``role``, its ``desks`` (a
``DeskScope`` as text: ``*`` for every desk, else desk ids separated by commas), and when it was
created and revoked. A name holds at most one live token: revoke it before issuing a new one.
Revoked rows stay, as the record of who could call the API when.

Tokens issued before desks were recorded have ``desks`` NULL: they are refused (``auth``) until
they are issued again with desks; ``desks`` on ``TokenInfo`` is then None.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from tickets.application.clock import Clock, SystemClock
from tickets.domain.actor import Actor
from tickets.domain.errors import LifecycleError, TicketNotFoundError, ValidationError
from tickets.domain.scope import DeskScope
from tickets.http.roles import ROLES
from tickets.projections.readstore import ReadStore, Tx
from tickets.wire.envelope import format_time, parse_time

PREFIX = "tkt_"
DDL = (
    """CREATE TABLE IF NOT EXISTS http_tokens (
        token_hash TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,
        created_at TEXT NOT NULL, revoked_at TEXT NULL, desks TEXT NULL)""",
    "CREATE INDEX IF NOT EXISTS http_tokens_name ON http_tokens (name, revoked_at)",
)


@dataclass(frozen=True)
class TokenInfo:
    name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None
    desks: DeskScope | None = None  # None: issued before desks were recorded

    @property
    def live(self) -> bool:
        return self.revoked_at is None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


_COLUMNS = "name, role, created_at, revoked_at, desks"


def _info(row: tuple[str, str, str, str | None, str | None]) -> TokenInfo:
    name, role, created, revoked, desks = row
    return TokenInfo(name, role, parse_time(created), None if revoked is None else parse_time(revoked),
                     None if desks is None else DeskScope.from_text(desks))


def _add_desks_column(tx: Tx) -> None:
    """``http_tokens.desks`` for a table made before tokens named their desks (NULL there)."""
    if tx.dialect == "sqlite":
        present = any(row[1] == "desks" for row in tx.execute("PRAGMA table_info(http_tokens)"))
    else:
        present = bool(tx.execute(
            "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = 'http_tokens' AND column_name = 'desks'"))
    if not present:
        tx.execute("ALTER TABLE http_tokens ADD COLUMN desks TEXT NULL")


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
            _add_desks_column(tx)

    def create(self, name: str, role: str, desks: DeskScope) -> str:
        """Issue a token for ``name`` on ``desks``; return it (the only time it is seen in clear).

        ``desks`` is checked against the catalogue by whoever builds it (``scope_of``).
        """
        Actor("service", name)  # the name has an actor id's shape
        check_role(role)
        token = PREFIX + secrets.token_urlsafe(32)
        with self.store.transaction() as tx:
            if tx.execute("SELECT 1 FROM http_tokens WHERE name = ? AND revoked_at IS NULL", (name,)):
                raise LifecycleError(f"{name} already has a live token; revoke it first",
                                     field="name", rule="one_live_token")
            tx.execute(
                "INSERT INTO http_tokens (token_hash, name, role, created_at, desks) "
                "VALUES (?, ?, ?, ?, ?)",
                (token_hash(token), name, role, format_time(self.clock.now()), desks.text()),
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
            f"SELECT {_COLUMNS} FROM http_tokens ORDER BY name, created_at"
        )
        return [_info(row) for row in rows]

    def find(self, token: str) -> TokenInfo | None:
        """The token's row (live or revoked), or None for a token never issued."""
        if not token.startswith(PREFIX) or len(token) > 128:
            return None
        rows = self.store.read(
            f"SELECT {_COLUMNS} FROM http_tokens WHERE token_hash = ?",
            (token_hash(token),),
        )
        return _info(rows[0]) if rows else None
