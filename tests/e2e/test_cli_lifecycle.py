"""The whole life of a ticket through the ``tickets`` CLI on a SQLite file, checked via --json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


class Cli:
    def __init__(self, home: Path) -> None:
        self.env = {**os.environ, "TICKETS_HOME": str(home)}
        self.env.pop("TICKETS_DATABASE_URL", None)

    def run(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "tickets.cli", *args], env=self.env, capture_output=True,
            text=True, timeout=60, check=False,
        )
        if ok:
            assert result.returncode == 0, result.stderr
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout)

    def refused(self, *args: str, code: int = 1) -> str:
        """Refused: 1 by the desk, 2 for a malformed command line (``code=2``)."""
        result = self.run(*args, ok=False)
        assert result.returncode == code
        assert "Traceback" not in result.stderr
        return result.stderr


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "home")


def test_a_ticket_walks_its_whole_life_through_the_cli(cli: Cli, tmp_path: Path) -> None:
    opened = cli.json(
        "open", "--desk", "nl-vendor", "--requester", "c-42", "--role", "user",
        "--title", "Payroll export stops", "--field", "product=payroll",
        "--at", "2026-11-16T10:00:00+01:00", "--channel", "web",
    )
    n = opened["number"]
    assert opened["status"] == "new" and opened["severity"] == "normal"
    assert (tmp_path / "home" / "events.sqlite3").exists()

    cli.run("severity", n, "high", "--reason", "triage", "--at", "2026-11-16T10:05:00+01:00")
    cli.run("assign", n, "a-7", "--at", "2026-11-16T10:06:00+01:00")
    cli.run("respond", n, "--actor", "agent:a-7", "--at", "2026-11-16T10:30:00+01:00")
    cli.run("request-info", n, "--actor", "agent:a-7", "--at", "2026-11-16T11:00:00+01:00")
    paused = cli.json("show", n, "--now", "2026-11-16T12:00:00+01:00")
    assert paused["status"] == "action_needed"
    assert "info_request_pending" in cli.refused(
        "request-info", n, "--at", "2026-11-16T11:30:00+01:00")
    cli.run("reply", n, "--actor", "customer:c-42", "--at", "2026-11-17T09:30:00+01:00")
    cli.run("escalate", n, "--reason", "by_hand", "--at", "2026-11-17T10:00:00+01:00")
    cli.run("close", n, "--reason", "resolved", "--at", "2026-11-17T11:00:00+01:00")
    cli.run("reopen", n, "--reason", "still broken", "--actor", "customer:c-42",
            "--at", "2026-11-17T12:00:00+01:00")
    cli.run("close", n, "--reason", "closed_by_requester", "--actor", "customer:c-42",
            "--at", "2026-11-17T13:00:00+01:00")

    shown = cli.json("show", n)
    assert shown["status"] == "closed" and shown["severity"] == "high"
    assert shown["close_reason"] == "closed_by_requester" and shown["level"] == "level_2"
    assert shown["policy"]["desk"] == "nl-vendor" and shown["policy"]["version"] == 2
    first = next(c for c in shown["sla"] if c["kind"] == "first_response")
    # high: 4 business hours from Monday 10:00 → due 14:00 local (13:00Z); answered at 10:30.
    assert first == first | {"state": "met", "due": "2026-11-16T13:00:00Z", "used": 1800.0}
    history = cli.json("history", n)
    assert [h["type"] for h in history] == [
        "Opened", "SeveritySet", "Assigned", "Responded", "InfoRequested", "CustomerReplied",
        "Escalated", "Closed", "Reopened", "Closed",
    ]
    listed = cli.json("list")
    assert [t["number"] for t in listed] == [n]
    assert "ticket_closed" in cli.refused("respond", n)


def test_bad_input_gets_a_clear_error_and_leaves_the_store_unchanged(cli: Cli) -> None:
    n = cli.json("open", "--desk", "o365", "--requester", "c-1", "--role", "admin",
                 "--title", "Mail down", "--severity", "A",
                 "--at", "2026-11-16T10:00:00+01:00")["number"]
    assert "known_desk" in cli.refused("open", "--desk", "nope", "--requester", "c-1",
                                       "--role", "admin", "--title", "x")
    assert "who_may_open" in cli.refused("open", "--desk", "o365", "--requester", "c-1",
                                         "--role", "guest", "--title", "x")
    assert "not_in_future" in cli.refused("respond", n, "--at", "2999-01-01T00:00:00Z")
    assert "aware_time" in cli.refused("respond", n, "--at", "2026-11-16T10:00:00", code=2)
    assert "iso8601" in cli.refused("respond", n, "--at", "yesterday", code=2)
    assert "not_before_previous_event" in cli.refused(
        "respond", n, "--at", "2026-11-16T09:00:00+01:00")
    assert "known_ticket" in cli.refused("show", "MSO-000000")
    assert "actor_format" in cli.refused("respond", n, "--actor", "alice")
    assert len(cli.json("history", n)) == 1
    usage = cli.run("open", ok=False)
    assert usage.returncode == 2 and "Traceback" not in usage.stderr
