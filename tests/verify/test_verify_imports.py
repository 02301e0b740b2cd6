"""flowlaws.verify stands apart: it never imports the engine or python-flint.

Two checks: the imports written in every module of ``flowlaws/verify``
(parsed with ``ast``), and a fresh interpreter in which importing the engine,
python-flint, SymPy or NumPy raises, where the checker must still prove
hand-written certificates.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import flowlaws.verify

VERIFY_DIR = Path(flowlaws.verify.__file__).resolve().parent
ROOT = VERIFY_DIR.parent.parent

FORBIDDEN = ("flowlaws.algebra", "flowlaws.models", "flowlaws._analyze", "flowlaws.dynamics", "flint")
#: What a module of flowlaws.verify may import at module level (nothing heavy).
TOP_LEVEL_OK = {
    "__future__", "collections", "collections.abc", "dataclasses", "typing", "re", "math", "time",
    "json", "random", "difflib", "fractions", "functools", "flowlaws.errors", "flowlaws.laws",
}


def _imports(path: Path):
    """(absolute module name, top level?) for every import statement of a module."""
    package = "flowlaws.verify"
    tree = ast.parse(path.read_text(), filename=str(path))
    top = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, id(node) in top
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if node.module is None:  # from .. import x : x may be a module
                for alias in node.names:
                    yield f"{mod}.{alias.name}", id(node) in top
            else:
                yield mod, id(node) in top


def test_verify_modules_exist():
    names = sorted(p.name for p in VERIFY_DIR.glob("*.py"))
    assert {"__init__.py", "_polys.py", "_modp.py", "_certificate.py", "_conserved.py"} <= set(names)


def test_no_engine_or_flint_imports_anywhere_in_verify():
    for path in sorted(VERIFY_DIR.glob("*.py")):
        for mod, _ in _imports(path):
            assert not any(mod == f or mod.startswith(f + ".") for f in FORBIDDEN), f"{path.name} imports {mod}"


def test_module_level_imports_are_light():
    for path in sorted(VERIFY_DIR.glob("*.py")):
        for mod, top in _imports(path):
            if not top:
                continue
            ok = mod in TOP_LEVEL_OK or mod.startswith("flowlaws.verify.")
            assert ok, f"{path.name} imports {mod} at module level; import it inside the function that needs it"


NUMPY_KERNELS = {"_network_eval.py", "_rank_np.py"}  # optional accelerations with a pure-Python fallback


def test_sympy_only_where_laws_are_parsed():
    for path in sorted(VERIFY_DIR.glob("*.py")):
        mods = {m for m, _ in _imports(path)}
        if path.name == "_conserved.py":
            continue
        assert not any(m.split(".")[0] == "sympy" for m in mods), path.name
        if path.name not in NUMPY_KERNELS:
            assert not any(m.split(".")[0] == "numpy" for m in mods), path.name


def _term(c, *pairs):
    return [str(c), [list(p) for p in pairs]]


RELU221 = {
    "schema": "flowlaws-certificate/1",
    "dim": 6,
    "variables": ["W1[0,0]", "W1[0,1]", "W1[1,0]", "W1[1,1]", "W2[0,0]", "W2[0,1]"],
    "model": {"kind": "network", "layers": [2, 2, 1], "activations": ["relu"], "bias": False},
    "flow": {"name": "gradient"},
    "generators": {"kind": "network-combinations", "seed": 0},
    "rank": {"prime": 16777213, "point": [1, 2, 3, -1, 2, 5], "words": [0, 1, 2, 3, [0, 1]], "value": 4},
    "laws": [
        [_term(1, (0, 2)), _term(1, (1, 2)), _term(-1, (4, 2))],
        [_term(1, (2, 2)), _term(1, (3, 2)), _term(-1, (5, 2))],
    ],
    "independence": {"prime": 2305843009213693951, "point": [3, -2, 1, 4, -1, 2], "value": 2},
    "bounds": {"lower": 2, "upper": 2},
    "count": 2,
    "complete": True,
}

PRODUCT3 = {
    "schema": "flowlaws-certificate/1",
    "dim": 3,
    "variables": ["x0", "x1", "x2"],
    "model": {"kind": "polynomials", "phi": [[_term(1, (0, 1), (1, 1), (2, 1))]]},
    "flow": {"name": "gradient"},
    "generators": {"kind": "coordinates"},
    "rank": {"prime": 101, "point": [1, 2, 3], "words": [0, [0, 0]], "value": 1},
    "laws": [[_term(1, (0, 2)), _term(-1, (1, 2))], [_term(1, (1, 2)), _term(-1, (2, 2))]],
    "independence": {"prime": 101, "point": [2, 3, 5], "value": 2},
    "bounds": {"lower": 2, "upper": 2},
    "count": 2,
    "complete": True,
}

_BODY = r"""
certs = json.loads(sys.argv[2])

import flowlaws.verify as v
from flowlaws.errors import CertificateError

proved = [v.check_certificate(c)["proved"] for c in certs]
bad = certs[0]
bad["rank"]["value"] = 5
try:
    v.check_certificate(bad)
    step = None
except CertificateError as err:
    step = err.step
print(json.dumps({"proved": proved, "step": step, "loaded": sorted(m for m in sys.modules if forbidden(m))}))
"""


def test_checker_runs_with_the_engine_flint_sympy_and_numpy_unimportable(run_without_engine):
    result = run_without_engine(_BODY, json.dumps([RELU221, PRODUCT3]))
    exact = {"upper_bound": 2, "lower_bound": 2, "exact": True}
    assert result == {"proved": [exact, exact], "step": "rank", "loaded": []}
