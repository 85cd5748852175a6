"""The shape of the tree: no import cycles in ``pipeline/`` or ``stages/``, no oversized modules,
and ``stages/`` never importing ``pipeline/``.

Imports are read with ``ast``, not by importing anything, so the answer does not depend on what
an earlier test imported. Cycles count module-level imports (what runs when a module loads);
``stages`` must not import ``pipeline`` anywhere, not even inside a function.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("pipeline", "stages")
MAX_LINES = 450


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((REPO / pkg).rglob("*.py"))}


def _module_level(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Imports that run when the module loads: top level and inside top-level ``if``/``try``
    blocks, but not ``if TYPE_CHECKING:`` (typing only) and not inside functions or classes."""
    found: list[ast.Import | ast.ImportFrom] = []

    def walk(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                found.append(node)
            elif isinstance(node, ast.If):
                if "TYPE_CHECKING" not in ast.unparse(node.test):
                    walk(node.body)
                walk(node.orelse)
            elif isinstance(node, ast.Try):
                for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                    walk(block)

    walk(tree.body)
    return found


def _everywhere(tree: ast.Module, *, typing_only: bool) -> list[ast.Import | ast.ImportFrom]:
    """Every import in the module, inside functions too; ``if TYPE_CHECKING:`` blocks only when
    ``typing_only`` (they never run, so they cannot close a cycle at run time)."""
    skip: set[int] = set()
    if not typing_only:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) and id(n) not in skip]


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def import_graph(*, nested: bool = False, typing_only: bool = False) -> dict[str, set[str]]:
    """Module -> the project modules it imports when it loads; with ``nested``, anywhere in it
    (inside functions too, and in ``if TYPE_CHECKING:`` blocks when ``typing_only``).

    ``from x import y`` counts ``x.y`` when ``y`` is a submodule, else ``x`` (a name read from
    ``x`` itself). Parent packages that a dotted import also loads are not counted: a package's
    ``__init__`` has already started by the time its submodules run, so ``a/__init__`` importing
    ``a.b`` while ``a.b`` imports ``a.c`` is no cycle, while ``a.b`` reading a name from ``a``
    is one.
    """
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        nodes = _everywhere(tree, typing_only=typing_only) if nested else _module_level(tree)
        targets: list[str] = []
        for node in nodes:
            if isinstance(node, ast.Import):
                targets += [alias.name for alias in node.names]
                continue
            base = _resolve(name, path, node)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets.append(sub if sub in modules else base)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of two or more modules (Tarjan), each as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for dep in sorted(graph.get(node, ())):
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in on_stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            group: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(groups)


def test_find_cycles_reports_each_cycle_once() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert find_cycles(graph) == [["a", "b", "c"]]


def test_no_import_cycles_in_pipeline_or_stages() -> None:
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_no_function_level_import_hides_a_cycle() -> None:
    """An import moved into a function to dodge a cycle still couples the two modules both ways:
    the fix is to move what both need into a third module, not to hide the import."""
    cycles = find_cycles(import_graph(nested=True))
    assert not cycles, "cycles through function-level imports:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_stages_never_import_pipeline() -> None:
    offenders = sorted(f"{name} imports {dep}" for name, deps in import_graph(nested=True, typing_only=True).items()
                       if name.split(".")[0] == "stages" for dep in deps if dep.split(".")[0] == "pipeline")
    assert not offenders, "\n".join(offenders)


def test_no_module_is_oversized() -> None:
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in _modules().items()}
    over = sorted(f"{name}: {lines} lines" for name, lines in sizes.items() if lines > MAX_LINES)
    assert not over, f"modules over {MAX_LINES} lines:\n" + "\n".join(over)
