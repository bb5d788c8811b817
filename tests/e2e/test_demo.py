"""``tickets demo`` through the CLI: auto-closes happen, breaches are counted, and a seed repeats itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

SAME_FOR_A_SEED = ("events", "commands", "scheduler", "totals", "dashboard", "queues")


def demo(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETS_")}
    return subprocess.run(
        [sys.executable, "-m", "tickets.cli", "demo", *args], env=env, capture_output=True,
        text=True, timeout=300, check=False,
    )


def demo_json(home: Path, *args: str) -> Any:
    result = demo("--tickets", "60", "--home", str(home), "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_demo_closes_tickets_counts_breaches_and_repeats_for_a_seed(tmp_path: Path) -> None:
    first = demo_json(tmp_path / "one")
    assert first["tickets"] == 60 and first["seed"] == 7
    assert first["auto_closed"] > 0 and first["warned"] >= first["auto_closed"]
    assert first["totals"]["breached"] > 0 and first["escalated_breach"] > 0
    example = first["example"]
    assert example is not None
    assert [e["type"] for e in example["audit"]][-2:] == ["AutoCloseWarned", "Closed"]
    assert any("King's Day" in span["reason"] for clock in example["countdown"]
               for span in clock["timeline"])
    second = demo_json(tmp_path / "two")
    assert {k: second[k] for k in SAME_FOR_A_SEED} == {k: first[k] for k in SAME_FOR_A_SEED}
    other = demo_json(tmp_path / "three", "--seed", "8")
    assert other["commands"] != first["commands"]


def test_the_demo_refuses_a_home_that_holds_data(tmp_path: Path) -> None:
    (tmp_path / "events.sqlite3").write_text("not empty")
    result = demo("--home", str(tmp_path))
    assert result.returncode == 1
    assert "not an empty directory" in result.stderr and "Traceback" not in result.stderr
