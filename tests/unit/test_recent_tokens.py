"""``tickets serve`` looks a token up at most once per second: a revocation counts within that."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tickets.domain.scope import EVERY_DESK
from tickets.http.recent_tokens import RecentTokens
from tickets.http.tokens import TokenInfo, TokenStore
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


def test_a_followed_token_is_refreshed_off_the_request_and_a_revocation_still_counts_in_time(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = RecentTokens(ReadStore(f"sqlite:///{tmp_path / 'read.sqlite3'}"), ttl=0.5)
    token = tokens.create("wallboard", "dashboard", EVERY_DESK)
    by: list[str] = []
    find = TokenStore.find

    def counted(self: TokenStore, value: str) -> TokenInfo | None:
        by.append(threading.current_thread().name)
        return find(self, value)

    monkeypatch.setattr(TokenStore, "find", counted)
    looking = tokens.follow()
    try:
        assert tokens.find(token) is not None  # the first use looks it up
        for _ in range(24):  # 1.2 s: more than two ttls, each request finds it fresh
            found = tokens.find(token)
            assert found is not None and found.live
            time.sleep(0.05)
        requests = [name for name in by if name != "recent_tokens"]
        assert requests == [threading.current_thread().name]  # only the first use
        assert by.count("recent_tokens") >= 4
        tokens.revoke("wallboard")
        time.sleep(0.55)  # the ttl and a little: the thread has looked again
        again = tokens.find(token)
        assert again is not None and not again.live
        assert [name for name in by if name != "recent_tokens"] == requests
    finally:
        looking.stop()


def test_once_the_thread_stops_a_request_looks_its_token_up_itself_after_the_ttl(
        tmp_path: Path) -> None:
    tokens = RecentTokens(ReadStore(f"sqlite:///{tmp_path / 'read.sqlite3'}"), ttl=0.2)
    token = tokens.create("wallboard", "dashboard", EVERY_DESK)
    tokens.follow().stop()
    assert tokens.find(token) is not None
    tokens.revoke("wallboard")
    time.sleep(0.25)
    found = tokens.find(token)
    assert found is not None and not found.live
