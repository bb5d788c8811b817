"""``tickets serve`` looks a token up at most once per second: a revocation counts within that."""

from __future__ import annotations

import time
from pathlib import Path

from tickets.domain.scope import EVERY_DESK
from tickets.http.recent_tokens import RecentTokens
from tickets.projections.readstore import ReadStore


def test_a_revoked_token_is_refused_once_its_lookup_is_older_than_the_ttl(tmp_path: Path) -> None:
    tokens = RecentTokens(ReadStore(f"sqlite:///{tmp_path / 'read.sqlite3'}"), ttl=0.2)
    token = tokens.create("wallboard", "dashboard", EVERY_DESK)
    found = tokens.find(token)
    assert found is not None and found.live
    tokens.revoke("wallboard")
    kept = tokens.find(token)
    assert kept is not None and kept.live  # the lookup is still fresh
    time.sleep(0.25)
    again = tokens.find(token)
    assert again is not None and not again.live


def test_a_token_never_issued_is_not_kept(tmp_path: Path) -> None:
    tokens = RecentTokens(ReadStore(f"sqlite:///{tmp_path / 'read.sqlite3'}"))
    assert tokens.find("tkt_" + "x" * 40) is None
    assert tokens.find("not a token") is None
    assert tokens._found == {}
