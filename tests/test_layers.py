"""The rooms import downwards only: domain, then projections (the read side, with the wire
envelope and the read store), then consumers (the edges that move events), replay, tickets.

Every room installs under the one import name ``tickets`` (``tickets/domain`` links to ``domain/``
and so on), so an import of ``tickets.domain.x`` is an arrow to the domain room, and a top-level
``import domain`` is wrong wherever it is: the installed wheel has no such package.

The import graph is read from the source (every ``import`` and ``from ... import``, including those
inside functions and ``TYPE_CHECKING`` blocks), folder by folder. import-linter's graph builder
(grimp) reads installed top-level packages by walking their folders and does not follow the links
the layers are installed through, so it would see ``tickets`` without its layers; reading the
source keeps the contract exact whatever way the folders are installed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Each room and the rooms it may import (itself aside). Anything else is a wrong arrow.
ALLOWED: dict[str, set[str]] = {
    "domain": set(),
    "wire": {"domain"},
    "application": {"domain"},
    "projections": {"domain", "wire"},
    "consumers": {"domain", "wire", "application", "projections"},
    "replay": {"domain", "wire", "application", "projections", "consumers"},
    "tickets": {"domain", "wire", "application", "projections", "consumers", "replay"},
}
LAYERS = {"domain", "wire", "application", "projections", "consumers", "replay"}
#: Code outside the rooms that imports them too (it must use the one import name as well).
OTHER_CODE = ("tests", "benchmarks")


def python_files(room: str, root: Path) -> list[Path]:
    """The room's own source files (``tickets`` without the links to the layers)."""
    folder = root / room
    return sorted(path for path in folder.rglob("*.py")
                  if not (room == "tickets" and path.relative_to(folder).parts[0] in LAYERS))


def imported_names(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node.lineno))
    return found


def room_of(name: str) -> str | None:
    """The room an imported module belongs to (``tickets.domain.x`` is in domain)."""
    parts = name.split(".")
    if parts[0] != "tickets":
        return None
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else "tickets"


def arrows(room: str, root: Path = ROOT) -> dict[str, str]:
    """The other rooms ``room`` imports, each with the first place it does."""
    found: dict[str, str] = {}
    for path in python_files(room, root):
        for name, line in imported_names(path):
            target = room_of(name)
            if target is not None and target != room:
                found.setdefault(target, f"{path.relative_to(root)}:{line}")
    return found


def top_level_imports(folder: str, root: Path = ROOT) -> list[str]:
    """Imports of a layer by its bare folder name (``import domain``), which nothing installs."""
    return [f"{path.relative_to(root)}:{line} {name}"
            for path in sorted((root / folder).rglob("*.py"))
            for name, line in imported_names(path) if name.split(".")[0] in LAYERS]


@pytest.mark.parametrize("room", sorted(ALLOWED))
def test_a_room_imports_only_the_rooms_below_it(room: str) -> None:
    wrong = {target: where for target, where in arrows(room).items() if target not in ALLOWED[room]}
    assert wrong == {}, f"{room} imports rooms above it: {wrong}"


@pytest.mark.parametrize("folder", sorted(ALLOWED) + list(OTHER_CODE))
def test_every_import_uses_the_one_installed_name(folder: str) -> None:
    assert top_level_imports(folder) == []


def test_the_allowed_arrows_make_no_circle() -> None:
    """The contract itself is a ladder: no room may import one that may import it."""
    for room, below in ALLOWED.items():
        for other in below:
            assert room not in ALLOWED[other], (room, other)


def test_the_check_finds_a_wrong_arrow(tmp_path: Path) -> None:
    """A projection importing a consumer is caught (so the check above can fail)."""
    (tmp_path / "projections").mkdir()
    (tmp_path / "projections" / "bad.py").write_text(
        "def f():\n    from tickets.consumers.kafka_runner import GroupRunner\n", encoding="utf-8")
    assert arrows("projections", tmp_path) == {"consumers": "projections/bad.py:2"}


def test_the_check_finds_a_bare_folder_import(tmp_path: Path) -> None:
    (tmp_path / "replay").mkdir()
    (tmp_path / "replay" / "bad.py").write_text("import domain.ticket\n", encoding="utf-8")
    assert top_level_imports("replay", tmp_path) == ["replay/bad.py:1 domain.ticket"]


def test_each_layer_is_installed_through_its_link() -> None:
    for layer in LAYERS:
        link = ROOT / "tickets" / layer
        assert link.is_symlink() and link.resolve() == (ROOT / layer).resolve(), layer
