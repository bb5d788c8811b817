"""Token desks on PostgreSQL: a token table from before desks gains the column; tokens keep desks."""

from __future__ import annotations

import pytest

from tests.servers import PostgresDatabase
from tickets.domain.scope import EVERY_DESK, DeskScope
from tickets.http.tokens import TokenStore, token_hash
from tickets.projections.readstore import ReadStore

pytestmark = pytest.mark.integration


def test_an_old_token_table_gains_desks_and_its_tokens_name_none(pg_schema: PostgresDatabase) -> None:
    store = ReadStore(pg_schema.dsn)
    try:
        with store.transaction() as tx:
            tx.execute("""CREATE TABLE http_tokens (
                token_hash TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,
                created_at TEXT NOT NULL, revoked_at TEXT NULL)""")
            tx.execute("INSERT INTO http_tokens VALUES (?, 'old', 'dashboard', "
                       "'2026-11-16T09:00:00.000000Z', NULL)", (token_hash("tkt_old"),))
        tokens = TokenStore(store)
        TokenStore(store)  # started again: the column is there already
        old = tokens.find("tkt_old")
        assert old is not None and old.live and old.desks is None
        web = tokens.create("wall-web", "dashboard", DeskScope(frozenset({"web", "zoom"})))
        every = tokens.create("audit", "auditor", EVERY_DESK)
        found_web, found_every = tokens.find(web), tokens.find(every)
        assert found_web is not None and found_web.desks == DeskScope(frozenset({"web", "zoom"}))
        assert found_every is not None and found_every.desks == EVERY_DESK
    finally:
        store.close()
