"""The extras stay out of the checker's way: what they import, and what importing flowlaws.verify loads.

The checker modules must never import the engine (tests/verify/test_verify_imports.py). The extras
are not part of the checker, but the numerical companion (_drift) still runs on the checker's own
arithmetic alone, and the strategies are only loaded on demand.
"""

from __future__ import annotations

import ast
from pathlib import Path

import flowlaws.verify

VERIFY_DIR = Path(flowlaws.verify.__file__).resolve().parent
ROOT = VERIFY_DIR.parent.parent
PLUGIN = ROOT / "_flowlaws_pytestplugin.py"


def _imports(path: Path, package: str = "flowlaws.verify"):
    """(module, top level?) for every import statement (the same parse as the checker's import test)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    top = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, id(node) in top
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            yield mod, id(node) in top


def _under(mod: str, roots: tuple[str, ...]) -> bool:
    return any(mod == r or mod.startswith(r + ".") for r in roots)


def test_drift_imports_only_the_checker_and_the_standard_library():
    mods = {m for m, _ in _imports(VERIFY_DIR / "_drift.py")}
    assert not any(_under(m, ("flowlaws.algebra", "flint", "flowlaws.models", "numpy", "sympy", "hypothesis")) for m in mods)
    engine_side = {m for m in mods if m.startswith("flowlaws.") and not m.startswith("flowlaws.verify.")}
    assert engine_side <= {"flowlaws.errors", "flowlaws.laws", "flowlaws._parse"}, engine_side


def test_strategies_never_import_the_engine_and_load_hypothesis_lazily():
    for name in ("strategies.py", "_strategies_support.py"):
        imports = list(_imports(VERIFY_DIR / name))
        assert not any(_under(m, ("flowlaws.algebra", "flint", "numpy", "sympy")) for m, _ in imports), name
        top = {m for m, is_top in imports if is_top}
        assert not any(_under(m, ("hypothesis", "networkx", "flowlaws.models")) for m in top), (name, top)


def test_the_plugin_imports_flowlaws_only_inside_hooks_and_fixtures():
    top = {m for m, is_top in _imports(PLUGIN, package="_flowlaws_pytestplugin") if is_top}
    assert top <= {"__future__", "fnmatch", "glob", "os", "sys", "typing", "pytest"}, top


_BODY = r"""
import flowlaws.verify as v
from flowlaws.laws import Law
after_import = sorted(m for m in sys.modules if m.startswith("flowlaws.verify"))

class Net:
    variables = ("W1[0,0]", "W1[0,1]", "W2[0,0]")
    def to_json(self):
        return {"kind": "network", "layers": [2, 1, 1], "activations": ["relu"], "bias": False}

law = Law(((1, ((0, 2),)), (1, ((1, 2),)), (-1, ((2, 2),))), Net.variables)
d1 = v.drift(Net(), law, v.simulate_gd(Net(), 20, 0.002, seed=0))
d2 = v.drift(Net(), law.to_json(), v.simulate_gd(Net(), 20, 0.001, seed=0))
print(json.dumps({"after_import": after_import, "ratio": d1.max_abs / d2.max_abs,
                  "loaded": sorted(m for m in sys.modules if forbidden(m))}))
"""


def test_importing_the_checker_loads_no_extra_and_drift_runs_without_the_engine(run_without_engine):
    result = run_without_engine(_BODY, extra_forbidden=("hypothesis", "networkx"))
    assert "flowlaws.verify.strategies" not in result["after_import"]
    assert "flowlaws.verify._drift" not in result["after_import"]
    assert 3 < result["ratio"] < 5 and result["loaded"] == []


def test_public_names():
    import flowlaws.verify.strategies as strategies

    for name in ("drift", "simulate_gd", "DriftReport", "strategies"):
        assert name in flowlaws.verify.__all__ and getattr(flowlaws.verify, name) is not None
    assert flowlaws.verify.strategies is strategies
    for name in strategies.__all__:
        assert name == "MAX_PATHS" or getattr(strategies, name).__module__ == "flowlaws.verify.strategies"
    assert {"drift", "strategies"} <= set(dir(flowlaws.verify))
