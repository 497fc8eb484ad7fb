"""The code stays lint-clean (ruff), type-checks (mypy with the Pydantic plugin) and has no import cycles."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
BIN = Path(sys.executable).parent


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_is_clean():
    result = run(str(BIN / "ruff"), "check", "service", "tests", "benchmarks")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean():
    result = run(sys.executable, "-m", "mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> the ``service`` modules it imports, anywhere in the file (function-local imports too)."""
    files = {module_name(path): path for path in (ROOT / "service").rglob("*.py")}
    known = {name.removesuffix(".__init__") for name in files}
    graph = {}
    for name, path in files.items():
        parts = name.split(".")
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                module = ".".join([*parts[: len(parts) - node.level], *filter(None, [node.module])])
                imported.add(module)
                imported.update(f"{module}.{alias.name}" for alias in node.names)
        own = name.removesuffix(".__init__")
        graph[own] = {module for module in imported if module in known and module != own}
    return graph


def test_no_import_cycles():
    graph = import_graph()
    finished: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            raise AssertionError("import cycle: " + " -> ".join([*path[path.index(module) :], module]))
        if module not in finished:
            for imported in sorted(graph[module]):
                visit(imported, [*path, module])
            finished.add(module)

    for module in sorted(graph):
        visit(module, [])
