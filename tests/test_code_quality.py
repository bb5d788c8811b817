"""ruff and mypy are part of the test run, so a red lint is a red build."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["domain", "projections", "consumers", "replay", "tickets"]
#: Test support code that is typed like the packages (the servers the integration tests start).
TYPED_SUPPORT = ["tests/servers"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_ruff_finds_nothing() -> None:
    result = run("ruff", "check", *PACKAGES, "tests", "benchmarks")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing() -> None:
    result = run("mypy", *PACKAGES, *TYPED_SUPPORT)
    assert result.returncode == 0, result.stdout + result.stderr
