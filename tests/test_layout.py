"""The tree's split by who uses it: ``dlutils`` (students) never imports the grader, the grader's
modules import each other without a circle, and the kernel's half of the grader stands alone."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("dlutils", "dlgrader")


def _imports(path: Path, package: str) -> set[str]:
    """Modules of the kit that ``path`` imports, as dotted names (top-level and in functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package
                found |= {f"{base}.{node.module}" if node.module else base}
                if not node.module:
                    found |= {f"{base}.{alias.name}" for alias in node.names}
            elif node.module:
                found.add(node.module)
                found |= {f"{node.module}.{alias.name}" for alias in node.names}
    modules = {f"{p}.{f.stem}" for p in PACKAGES for f in (REPO / p).glob("*.py")}
    return {name for name in found if name in modules}


def _graph() -> dict[str, set[str]]:
    return {f"{p}.{f.stem}": _imports(f, p) - {f"{p}.{f.stem}"}
            for p in PACKAGES for f in sorted((REPO / p).glob("*.py"))}


def test_students_package_never_imports_the_grader():
    graph = _graph()
    offenders = {m: sorted(i for i in deps if i.startswith("dlgrader."))
                 for m, deps in graph.items() if m.startswith("dlutils.")}
    assert not {m: d for m, d in offenders.items() if d}


def test_no_import_circle():
    graph = _graph()
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                pytest.fail("import circle: " + " -> ".join(path[path.index(nxt):] + [nxt])
                            if nxt in path else f"{node} -> {nxt}")
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_kernel_side_of_the_grader_stands_alone():
    """The sandbox lets the kernel read only these files of dlgrader: they import nothing
    else of the kit."""
    from dlgrader.sandbox import KERNEL_SIDE

    kernel_side = {f"dlgrader.{Path(n).stem}" for n in KERNEL_SIDE}
    for module in kernel_side:
        deps = _graph()[module]
        assert deps <= kernel_side, (module, deps - kernel_side)


def test_the_graph_sees_real_imports():
    """The checks above would pass vacuously if the parser missed imports."""
    graph = _graph()
    assert "dlgrader.wire" in graph["dlgrader.agent"]
    assert "dlutils.checks" in graph["dlgrader.judge"]
    assert {"dlgrader.grading", "dlgrader.pipeline"} <= graph["dlgrader.cli"]
