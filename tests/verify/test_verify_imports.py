"""flowlaws.verify stands apart, and its checker (flowlaws.verify.checker) stands apart from the rest of it.

Two kinds of checks: the imports written in every module of ``flowlaws/verify``
(parsed with ``ast``), and fresh interpreters in which importing the engine,
python-flint, SymPy or NumPy raises (and, for the checker subpackage alone,
flowlaws.laws and the user tools beside it too), where the checker must still
prove hand-written certificates.

The rule for ``flowlaws/verify/checker/``: its modules import the standard
library, NumPy (only inside functions), :mod:`flowlaws.errors` and their own
subpackage (relatively), nothing else. The user tools in ``flowlaws/verify/``
(is_conserved, drift, strategies) may import the checker, never the reverse.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import flowlaws.verify

VERIFY_DIR = Path(flowlaws.verify.__file__).resolve().parent
CHECKER_DIR = VERIFY_DIR / "checker"
ROOT = VERIFY_DIR.parent.parent

FORBIDDEN = ("flowlaws.algebra", "flowlaws.models", "flowlaws._analyze", "flowlaws.dynamics", "flint")
#: What a module of flowlaws.verify may import at module level (nothing heavy).
TOP_LEVEL_OK = {
    "__future__", "collections", "collections.abc", "dataclasses", "typing", "re", "math", "time",
    "json", "random", "difflib", "fractions", "functools", "flowlaws.errors", "flowlaws.laws",
}
#: All that a module of the checker subpackage may import from flowlaws.
CHECKER_FLOWLAWS_OK = ("flowlaws.errors", "flowlaws.verify.checker")


def _package(path: Path) -> str:
    """The package a module's relative imports start from (``flowlaws.verify`` or ``flowlaws.verify.checker``)."""
    rel = path.resolve().relative_to(ROOT).with_suffix("").parts
    return ".".join(rel[:-1])


def _verify_modules() -> list[Path]:
    return sorted(p for p in VERIFY_DIR.rglob("*.py") if "__pycache__" not in p.parts)


def _checker_modules() -> list[Path]:
    return sorted(p for p in CHECKER_DIR.rglob("*.py") if "__pycache__" not in p.parts)


def _label(path: Path) -> str:
    return str(path.relative_to(VERIFY_DIR))


def _import_nodes(path: Path):
    """(absolute module name, top level?, relative?) for every import statement of a module."""
    package = _package(path)
    tree = ast.parse(path.read_text(), filename=str(path))
    top = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, id(node) in top, False
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if node.module is None:  # from .. import x : x may be a module
                for alias in node.names:
                    yield f"{mod}.{alias.name}", id(node) in top, bool(node.level)
            else:
                yield mod, id(node) in top, bool(node.level)


def _imports(path: Path):
    """(absolute module name, top level?) for every import statement of a module."""
    for mod, top, _relative in _import_nodes(path):
        yield mod, top


def _under(mod: str, roots: tuple[str, ...]) -> bool:
    return any(mod == r or mod.startswith(r + ".") for r in roots)


def test_verify_modules_exist():
    names = {p.name for p in VERIFY_DIR.glob("*.py")}
    assert {"__init__.py", "_conserved.py", "_drift.py", "strategies.py"} <= names
    checker = {p.name for p in CHECKER_DIR.glob("*.py")}
    assert {
        "__init__.py", "_polys.py", "_modp.py", "_schema.py", "_model.py", "_parsed.py", "_certificate.py",
        "_flows.py", "_network.py", "_network_eval.py", "_rank_np.py", "_local_laws.py",
    } <= checker
    # the checker lives in the subpackage only: no second copy beside the user tools
    assert not (names & (checker - {"__init__.py"})), names & checker


def test_no_engine_or_flint_imports_anywhere_in_verify():
    for path in _verify_modules():
        for mod, _ in _imports(path):
            assert not _under(mod, FORBIDDEN), f"{_label(path)} imports {mod}"


def test_checker_imports_only_the_standard_library_numpy_errors_and_itself():
    seen = 0
    for path in _checker_modules():
        seen += 1
        for mod, top, relative in _import_nodes(path):
            root = mod.split(".")[0]
            if root == "flowlaws":
                assert _under(mod, CHECKER_FLOWLAWS_OK), (
                    f"checker/{path.name} imports {mod}: the checker imports nothing of flowlaws but "
                    "flowlaws.errors and its own modules"
                )
                if _under(mod, ("flowlaws.verify.checker",)):
                    assert relative, f"checker/{path.name} imports its own module {mod} absolutely; import it relatively"
            elif root == "numpy":
                assert not top, f"checker/{path.name} imports NumPy at module level; import it inside the function"
            else:
                assert root in sys.stdlib_module_names, f"checker/{path.name} imports {mod}, not the standard library"
    assert seen >= 12


def test_module_level_imports_are_light():
    for path in _verify_modules():
        for mod, top in _imports(path):
            if not top:
                continue
            ok = mod in TOP_LEVEL_OK or mod.startswith("flowlaws.verify.")
            assert ok, f"{_label(path)} imports {mod} at module level; import it inside the function that needs it"


NUMPY_KERNELS = {"checker/_network_eval.py", "checker/_graph_eval.py", "checker/_rank_np.py",  # optional accelerations with a pure-Python fallback
                 "checker/_triangular.py"}  # the triangular rank proof: NumPy only (refused with a message without it)
SYMPY_PARSERS = {"_conserved.py", "_conserved_laws.py"}  # is_conserved reads laws and metrics given as SymPy or strings


def test_sympy_only_where_laws_are_parsed():
    for path in _verify_modules():
        mods = {m for m, _ in _imports(path)}
        label = _label(path)
        if label in SYMPY_PARSERS:
            continue
        assert not any(m.split(".")[0] == "sympy" for m in mods), label
        if label not in NUMPY_KERNELS:
            assert not any(m.split(".")[0] == "numpy" for m in mods), label


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


_CHECKER_ALONE = r"""
certs = json.loads(sys.argv[2])

# flowlaws.verify without its __init__ (which loads the user tools): only the checker subpackage is importable
vpkg = types.ModuleType("flowlaws.verify")
vpkg.__path__ = [sys.argv[1] + "/flowlaws/verify"]
sys.modules["flowlaws.verify"] = vpkg

from flowlaws.verify.checker import check_certificate

proved = [check_certificate(c)["proved"] for c in certs]
print(json.dumps({"proved": proved, "flowlaws": sorted(m for m in sys.modules if m.startswith("flowlaws")),
                  "loaded": sorted(m for m in sys.modules if forbidden(m))}))
"""


def test_the_checker_subpackage_runs_without_the_rest_of_flowlaws(run_without_engine):
    tools = tuple(f"flowlaws.verify.{p.stem}" for p in VERIFY_DIR.glob("*.py") if p.name != "__init__.py")
    assert "flowlaws.verify._conserved" in tools and "flowlaws.verify.strategies" in tools
    result = run_without_engine(
        _CHECKER_ALONE, json.dumps([RELU221, PRODUCT3]), extra_forbidden=("flowlaws.laws", *tools)
    )
    exact = {"upper_bound": 2, "lower_bound": 2, "exact": True}
    assert result["proved"] == [exact, exact] and result["loaded"] == []
    outside = [m for m in result["flowlaws"] if not _under(m, ("flowlaws.verify.checker", "flowlaws.errors"))]
    assert outside == ["flowlaws", "flowlaws.verify"], outside  # the two stand-in packages only
