"""No code runs text it did not write itself: no ``exec``/``eval``/``compile`` of anything but a literal.

Text from the environment, a file or the wire that is run as Python is code nobody reviewed. The
scan reads the source of every package, the tests and the benchmarks:

* a call of ``exec``, ``eval`` or ``compile`` (bare or as ``builtins.``) whose text is not a
  string literal;
* ``[sys.executable, ..., "-c", CODE, ...]`` where ``CODE`` is neither a string literal nor a
  module-level name bound to one;
* and the same inside string literals that are themselves Python (code handed to ``python -c``),
  which is how an ``exec`` of an environment variable hid before.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ["domain", "projections", "consumers", "replay", "tickets", "tests", "benchmarks"]
EXECUTORS = frozenset({"exec", "eval", "compile"})


def _executor(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name) and func.id in EXECUTORS:
        return func.id
    if (
        isinstance(func, ast.Attribute)
        and func.attr in EXECUTORS
        and isinstance(func.value, ast.Name)
        and func.value.id == "builtins"
    ):
        return func.attr
    return None


def _is_text(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _is_literal_text(node: ast.AST) -> bool:
    """A string literal, or ``textwrap.dedent`` of one."""
    if isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords:
        func = node.func
        dedent = (isinstance(func, ast.Attribute) and func.attr == "dedent") or (
            isinstance(func, ast.Name) and func.id == "dedent"
        )
        return dedent and _is_text(node.args[0])
    return _is_text(node)


def _literal_names(tree: ast.Module) -> set[str]:
    """Module-level names bound once to a string literal (``CHILD = \"\"\"...\"\"\"``)."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and _is_literal_text(node.value):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.value is not None
            and _is_literal_text(node.value)
        ):
            names.add(node.target.id)
    return names


def _is_python(argv: list[ast.expr]) -> bool:
    first = argv[0] if argv else None
    return (
        isinstance(first, ast.Attribute)
        and first.attr == "executable"
        and isinstance(first.value, ast.Name)
        and first.value.id == "sys"
    )


def executed_text(source: str, where: str = "<source>") -> list[str]:
    """Where ``source`` runs text that is not a literal of its own, one line per place."""
    tree = ast.parse(source)
    literal = _literal_names(tree)
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and (name := _executor(node.func)) is not None:
            if not (node.args and _is_literal_text(node.args[0])):
                found.append(f"{where}:{node.lineno}: {name}() of text that is not a literal")
        elif isinstance(node, ast.List | ast.Tuple) and _is_python(node.elts):
            for flag, code in zip(node.elts, node.elts[1:], strict=False):
                is_c = isinstance(flag, ast.Constant) and flag.value == "-c"
                named_literal = isinstance(code, ast.Name) and code.id in literal
                if is_c and not (_is_literal_text(code) or named_literal):
                    found.append(f"{where}:{node.lineno}: python -c of text that is not a literal")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and any(word in node.value for word in EXECUTORS)
        ):
            try:
                inner = ast.parse(node.value)
            except SyntaxError:
                continue
            found += executed_text(ast.unparse(inner), f"{where}:{node.lineno} (code in a string)")
    return found


def _sources() -> list[Path]:
    """Every Python file scanned, but this one (its examples below are what the scan must find)."""
    here = Path(__file__).resolve()
    return sorted(p for folder in SCANNED for p in (ROOT / folder).rglob("*.py") if p.resolve() != here)


def test_the_code_base_runs_no_text_it_did_not_write() -> None:
    sources = _sources()
    assert len(sources) > 100  # the scan reads the code base, not an empty folder
    found = [hit for path in sources for hit in executed_text(path.read_text(), str(path.relative_to(ROOT)))]
    assert found == []


@pytest.mark.parametrize(
    "source",
    [
        "import os\nexec(os.environ['WATCHDOG'])",
        "def f(text):\n    return eval(text)",
        "import builtins\nbuiltins.exec(open('x.py').read())",
        "code = compile(source, 'x', 'exec')",
        "import sys, subprocess\nsubprocess.run([sys.executable, '-c', make_code()])",
        "import sys\nargv = [sys.executable, '-I', '-c', \"import os; exec(os.environ['W'])\", 'name']",
        "CODE = 'import os; eval(os.environ[\"X\"])'",
        "import sys\nargv = [sys.executable, '-c', f'import {module}']",
    ],
    ids=[
        "exec-env", "eval-arg", "builtins-exec-file", "compile-arg", "python-c-call", "hidden-in-c",
        "hidden-in-constant", "python-c-format",
    ],
)
def test_the_scan_finds_text_run_as_code(source: str) -> None:
    assert executed_text(source) != []


@pytest.mark.parametrize(
    "source",
    [
        "import re\npattern = re.compile(user_text)",
        "exec('x = 1')",
        "import sys\nCHILD = 'print(1)'\nargv = [sys.executable, '-c', CHILD]",
        "import sys, textwrap\nCHILD = textwrap.dedent('\\n    print(1)\\n')\n"
        "argv = [sys.executable, '-c', CHILD]",
        "argv = ['postgres', '-c', f'{key}={value}']",
        "import sys\nargv = [sys.executable, '-I', str(program), 'name']",
    ],
    ids=[
        "re-compile", "literal-exec", "python-c-literal-constant", "python-c-dedented-constant",
        "postgres-option", "program-by-path",
    ],
)
def test_the_scan_lets_literal_code_and_lookalikes_pass(source: str) -> None:
    assert executed_text(source) == []
