"""The rooms import downwards only: domain, then projections (the read side, with the wire
envelope and the read store), then consumers (the edges that move events), replay, tickets.

The import graph is read from the source (every ``import`` and ``from ... import``, including those
inside functions and ``TYPE_CHECKING`` blocks), folder by folder. import-linter's graph builder
would do the same for installed top-level packages; reading the source keeps the check working
whatever way the folders are installed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Each room and the rooms it may import (itself aside). Anything else is a wrong arrow.
ALLOWED: dict[str, set[str]] = {
    "domain": set(),
    "projections": {"domain"},
    "consumers": {"domain", "projections"},
    "replay": {"domain", "projections", "consumers"},
    "tickets": {"domain", "projections", "consumers", "replay"},
}


def arrows(room: str, root: Path = ROOT) -> dict[str, str]:
    """The other rooms ``room`` imports, each with the first place it does."""
    found: dict[str, str] = {}
    for path in sorted((root / room).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                target = name.split(".")[0]
                if target in ALLOWED and target != room:
                    found.setdefault(target, f"{path.relative_to(root)}:{node.lineno}")
    return found


@pytest.mark.parametrize("room", sorted(ALLOWED))
def test_a_room_imports_only_the_rooms_below_it(room: str) -> None:
    wrong = {target: where for target, where in arrows(room).items() if target not in ALLOWED[room]}
    assert wrong == {}, f"{room} imports rooms above it: {wrong}"


def test_the_allowed_arrows_make_no_circle() -> None:
    """The contract itself is a ladder: no room may import one that may import it."""
    for room, below in ALLOWED.items():
        for other in below:
            assert room not in ALLOWED[other], (room, other)


def test_the_check_finds_a_wrong_arrow(tmp_path: Path) -> None:
    """A projection importing a consumer is caught (so the check above can fail)."""
    (tmp_path / "projections").mkdir()
    (tmp_path / "projections" / "bad.py").write_text(
        "def f():\n    from consumers.kafka_runner import GroupRunner\n", encoding="utf-8")
    assert arrows("projections", tmp_path) == {"consumers": "projections/bad.py:2"}
