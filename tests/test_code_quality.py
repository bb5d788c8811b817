"""ruff and mypy are part of the test run, so a red lint is a red build."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["domain", "wire", "application", "projections", "consumers", "replay", "tickets"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_ruff_finds_nothing() -> None:
    result = run("ruff", "check", *PACKAGES, "tests", "benchmarks")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing() -> None:
    """mypy reads the packages from pyproject.toml: ``tickets`` (the layers through their links, as
    they are installed) and the test servers' support code."""
    result = run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing_in_the_benchmarks() -> None:
    """The benchmarks are scripts, not a package: a refactor that breaks one shows here, not on
    the day someone measures."""
    scripts = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "benchmarks").glob("*.py"))
    assert len(scripts) > 10
    result = run("mypy", *scripts)
    assert result.returncode == 0, result.stdout + result.stderr
