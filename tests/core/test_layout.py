"""The house's shape: no module of the apps over 400 lines, no import circle.

An import circle counts imports inside functions too (a late import only hides
one); imports for type checking alone (``if TYPE_CHECKING:``) do not run and do not
count.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("config", "core", "catalog", "metering", "credits", "billing", "alerts")
PACKAGES += ("payments",)
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


MODULES = _modules()


def _known(name: str) -> str | None:
    """The module ``name`` is, or is defined in (``core.models.Customer``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and (
        getattr(node.test, "id", None) == "TYPE_CHECKING"
        or getattr(node.test, "attr", None) == "TYPE_CHECKING"
    )


def _imported(module: str, path: Path) -> set[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    stack: list[ast.AST] = [ast.parse(path.read_text())]
    while stack:
        node = stack.pop()
        if _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(filter(None, map(_known, names)))
    found.discard(module)
    return found


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return circles


def test_no_module_is_over_400_lines():
    long = {
        str(path.relative_to(ROOT)): lines
        for path in MODULES.values()
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_no_import_circle():
    graph = {module: _imported(module, path) for module, path in MODULES.items()}
    # A package importing its own modules (to re-export them) is no circle.
    for module, path in MODULES.items():
        if path.name == "__init__.py":
            graph[module] = {m for m in graph[module] if not m.startswith(module + ".")}
    assert _circles(graph) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from core import clock", {"core.clock"}),
        ("from core.models import Customer", {"core.models"}),
        ("def f():\n    from core import clock", {"core.clock"}),
        (
            "import typing\nif typing.TYPE_CHECKING:\n    import core.clock",
            set(),
        ),
    ],
)
def test_the_import_reader(tmp_path, source, expected):
    path = tmp_path / "probe.py"
    path.write_text(source)
    assert _imported("core.probe", path) == expected
