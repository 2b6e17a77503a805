"""The package's layers import only downward, and no two modules import each other (directly or
through others).

Every import statement of every module under ``src/dbdlab`` is read with :mod:`ast`, including
imports inside functions (they still couple the modules); imports under ``if TYPE_CHECKING:``
are left out, since they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "src" / "dbdlab"

#: Rank of each top-level part of the package: a module may import modules of its own rank or
#: lower ranks only.
LAYERS: dict[str, int] = {
    "_checks": 0,
    "backend": 0,
    "rng": 0,
    "store": 0,
    "simulate": 1,
    "models": 2,
    "sampling": 3,
    "fem": 4,
    "learn": 5,
    "closure": 6,
    "experiments": 7,
    "pipeline": 8,
    "cli": 8,
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _type_checking_block(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """dbdlab modules imported by the file at ``path`` (absolute names)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    name = module_name(path)
    package = name if is_package(path) else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if _type_checking_block(node):
            for child in node.orelse:  # the else branch does run
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:  # `from pkg import submodule` imports the submodule
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in known else target)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {m for m in found if m == "dbdlab" or m.startswith("dbdlab.")}


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE_DIR.rglob("*.py"))}


def import_graph() -> dict[str, set[str]]:
    modules = all_modules()
    known = set(modules)
    return {name: imported_modules(path, known) for name, path in modules.items()}


def layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.get(parts[1]) if len(parts) > 1 else None


def test_every_module_has_a_layer():
    unplaced = sorted(m for m in all_modules() if m != "dbdlab" and layer(m) is None)
    assert not unplaced, f"modules outside the layer table of this test: {unplaced}"


def test_imports_only_go_down_the_layers():
    upward = []
    for source, targets in import_graph().items():
        if source == "dbdlab":  # the top-level facade imports its entry points lazily
            continue
        for target in targets:
            if target == "dbdlab" or layer(target) > layer(source):
                upward.append(f"{source} (layer {layer(source)}) imports {target} "
                              f"(layer {layer(target)})")
    assert not upward, "imports against the layer order:\n" + "\n".join(sorted(upward))


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a list of nodes (first == last), or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def dfs(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (cycle := dfs(target)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := dfs(node)) is not None:
            return cycle
    return None


def test_no_import_cycles():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize(
    ("graph", "has_cycle"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, False),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, True),
        ({"a": {"a"}}, True),
    ],
)
def test_find_cycle_detects_cycles(graph, has_cycle):
    assert (find_cycle(graph) is not None) == has_cycle


def test_parser_sees_relative_lazy_and_skips_type_checking_imports(tmp_path, monkeypatch):
    pkg = tmp_path / "dbdlab"
    (pkg / "learn").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "learn" / "__init__.py").write_text("")
    (pkg / "fem.py").write_text("")
    source = pkg / "learn" / "x.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "from .. import fem\n"
        "if TYPE_CHECKING:\n"
        "    from dbdlab.experiments import y\n"
        "def f():\n"
        "    from ..pipeline import run\n"
    )
    monkeypatch.setitem(globals(), "PACKAGE_DIR", pkg)
    assert imported_modules(source, {"dbdlab.fem", "dbdlab.learn.x"}) == {
        "dbdlab.fem",
        "dbdlab.pipeline",
    }
