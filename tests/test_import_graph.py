"""The shape of the package: no import cycle among flowlaws' modules, no module longer than 800 lines.

The graph is read from the source with ``ast`` (nothing is imported): one node
per module under ``flowlaws/`` (a package's ``__init__`` is the package's node),
one edge per import executed at module level (top-level statements, also inside
top-level ``if``/``try``/``with``/class bodies, but not under ``if TYPE_CHECKING:``
nor inside functions). ``from . import x`` and ``from .x import y`` are resolved
to the modules they load: ``x`` (or ``x.y`` when ``y`` is a submodule), and the
packages above it that are not already packages of the importing module
(Python runs their ``__init__`` first).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "flowlaws"
MAX_LINES = 800


def _modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the source tree (``pkg/__init__.py`` -> ``pkg``)."""
    out = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _module_level(body: list[ast.stmt]):
    """The import statements executed when a module is imported."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _module_level(node.body)
            yield from _module_level(node.orelse)
        elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            for block in (node.body, node.orelse, node.finalbody):
                yield from _module_level(block)
            for handler in node.handlers:
                yield from _module_level(handler.body)
        elif isinstance(node, (ast.With, ast.For, ast.While, ast.ClassDef)):
            yield from _module_level(node.body)
            yield from _module_level(getattr(node, "orelse", []))


def _ancestors(name: str) -> set[str]:
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def _targets(importer: str, is_package: bool, node: ast.stmt, modules: dict[str, Path]) -> set[str]:
    """The modules of flowlaws that one import statement of ``importer`` loads."""
    if isinstance(node, ast.Import):
        wanted = [alias.name for alias in node.names]
    else:
        assert isinstance(node, ast.ImportFrom)
        if node.level:
            package = importer if is_package else importer.rpartition(".")[0]
            parts = package.split(".")
            base = parts[: len(parts) - node.level + 1]
            source = ".".join(base + ([node.module] if node.module else []))
        else:
            source = node.module or ""
        wanted = []
        for alias in node.names:
            sub = f"{source}.{alias.name}"
            wanted.append(sub if sub in modules else source)  # a submodule, or a name defined in `source`
            if sub in modules and source not in _ancestors(importer):
                wanted.append(source)  # `from pkg import sub` runs pkg/__init__ first
    out = set()
    mine = _ancestors(importer)
    for name in wanted:
        while name and name not in modules:  # `import flowlaws.x.y` names a module; drop attribute parts
            name = name.rpartition(".")[0]
        if not name or name == importer:
            continue
        # the packages above the target run first, unless they already enclose the importer
        out |= {p for p in _ancestors(name) | {name} if p in modules and p not in mine}
    out.discard(importer)
    return out


def import_graph() -> dict[str, set[str]]:
    """Module -> the flowlaws modules it imports at module level."""
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        edges: set[str] = set()
        for node in _module_level(tree.body):
            edges |= _targets(name, is_package, node, modules)
        graph[name] = edges
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle ``[a, b, ..., a]`` per strongly connected component with a cycle (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # iterative enough: the package has a few hundred modules at most
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph.get(v, ()):
                components.append(comp)

    for v in sorted(graph):
        if v not in index:
            visit(v)

    cycles = []
    for comp in components:
        start = min(comp)
        # breadth-first search inside the component for the shortest way back to `start`
        previous: dict[str, str] = {}
        frontier = [start]
        found = None
        while frontier and found is None:
            nxt = []
            for v in frontier:
                for w in sorted(graph[v] & comp):
                    if w == start:
                        found = v
                        break
                    if w not in previous:
                        previous[w] = v
                        nxt.append(w)
                if found is not None:
                    break
            frontier = nxt
        path = [start]
        v = found
        while v is not None and v != start:
            path.append(v)
            v = previous.get(v)
        cycles.append([start] + path[:0:-1] + [start] if len(path) > 1 else [start, start])
    return sorted(cycles)


def test_the_graph_reader_resolves_relative_imports_and_finds_cycles():
    graph = import_graph()
    # flowlaws.verify's __init__ loads the checker subpackage; the checker loads its own modules
    assert "flowlaws.verify.checker" in graph["flowlaws.verify"]
    assert "flowlaws.verify.checker._certificate" in graph["flowlaws.verify.checker"]
    assert "flowlaws.errors" in graph["flowlaws.verify.checker._schema"]
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"a"}, "b": set()}) == [["a", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_in_flowlaws():
    cycles = find_cycles(import_graph())
    assert not cycles, "module-level import cycles in flowlaws/:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_no_module_longer_than_800_lines():
    long = {
        str(path.relative_to(PACKAGE_DIR.parent)): n
        for path in _modules().values()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"modules longer than {MAX_LINES} lines (split them by job): " + ", ".join(
        f"{p} ({n} lines)" for p, n in sorted(long.items())
    )
