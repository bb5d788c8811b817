"""``tickets health``: can this process reach its databases and its broker?

Used by container health checks (docker-compose.yml) and by operators. Each check opens a fresh
connection, asks the server one cheap question and closes it, within a time limit. Failures name
the error's type only: connection errors may carry host names or user names, never passwords,
but they stay out of the output anyway.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def as_map(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


def _failed(name: str, error: BaseException) -> Check:
    return Check(name, False, f"unreachable: {type(error).__name__}")


def check_database(name: str, url: str, timeout: float = 5.0) -> Check:
    """``SELECT 1`` on a ``postgresql://`` or ``sqlite:///`` URL (``memory:`` always passes)."""
    try:
        if url == "memory:":
            return Check(name, True, "in memory")
        if url.startswith("sqlite:///"):
            path = url.removeprefix("sqlite:///")
            if path != ":memory:" and not Path(path).exists():
                return Check(name, True, "sqlite file not created yet")
            with sqlite3.connect(path, timeout=timeout) as conn:
                conn.execute("SELECT 1").fetchone()
            return Check(name, True, "sqlite")
        import psycopg

        parts = urlsplit(url)  # ?schema=... is ours, not libpq's
        conninfo = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        with psycopg.connect(conninfo, connect_timeout=max(1, int(timeout))) as conn:
            conn.execute("SELECT 1").fetchone()
        return Check(name, True, "postgresql")
    except Exception as error:
        return _failed(name, error)


def check_kafka(bootstrap_servers: str | None, topics: Sequence[str] = (),
                timeout: float = 5.0) -> Check:
    """The broker answers a metadata request, and every topic named exists."""
    if not bootstrap_servers:
        return Check("kafka", True, "not configured (embedded mode)")
    try:
        from kafka import KafkaAdminClient

        admin = KafkaAdminClient(
            bootstrap_servers=[s.strip() for s in bootstrap_servers.split(",") if s.strip()],
            client_id="tickets-health", request_timeout_ms=int(timeout * 1000),
            bootstrap_timeout_ms=int(timeout * 1000),
        )
        try:
            existing = set(admin.list_topics())
        finally:
            admin.close()
    except Exception as error:
        return _failed("kafka", error)
    missing = sorted(set(topics) - existing)
    if missing:
        return Check("kafka", False, f"missing topics: {', '.join(missing)}")
    return Check("kafka", True, f"{len(existing)} topics")


def healthy(checks: Sequence[Check]) -> bool:
    return all(check.ok for check in checks)
