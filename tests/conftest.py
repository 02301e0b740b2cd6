"""Hypothesis profiles: ``ci`` (derandomized, no deadline) is loaded when CI=true."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=40, deadline=None)
settings.register_profile(
    "ci", max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if os.environ.get("CI") == "true" else os.environ.get("HYPOTHESIS_PROFILE", "dev"))


# -- running a script with the engine unimportable (the checker must stand apart) ---------------------
import json as _json
import subprocess as _subprocess
import sys as _sys
from pathlib import Path as _Path

import pytest as _pytest

ROOT = _Path(__file__).resolve().parents[1]
ENGINE_AND_HEAVY = ("flowlaws.algebra", "flowlaws.models", "flowlaws._analyze", "flowlaws.engine",
                    "flowlaws._parse", "flowlaws.dynamics", "flint", "sympy", "numpy")

_PREAMBLE = r"""
import importlib.abc, json, sys, types

FORBIDDEN = {forbidden!r}

def forbidden(name):
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN)

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if forbidden(name):
            raise ImportError(f"forbidden import of {{name}}")
        return None

sys.meta_path.insert(0, Block())
# flowlaws.verify without running flowlaws/__init__.py (which imports the engine)
pkg = types.ModuleType("flowlaws")
pkg.__path__ = [sys.argv[1] + "/flowlaws"]
sys.modules["flowlaws"] = pkg
"""


@_pytest.fixture
def run_without_engine():
    """``run(body, *args, extra_forbidden=())``: run ``body`` in a fresh interpreter where the
    engine, python-flint, SymPy and NumPy (and ``extra_forbidden``) cannot be imported; ``body``
    sees ``sys.argv[1]`` = the repository root, then ``args``, and ``forbidden(name)``. Returns the
    JSON its last stdout line prints."""

    def run(body: str, *args: str, extra_forbidden: tuple[str, ...] = ()):
        script = _PREAMBLE.format(forbidden=ENGINE_AND_HEAVY + tuple(extra_forbidden)) + body
        out = _subprocess.run([_sys.executable, "-c", script, str(ROOT), *args],
                              capture_output=True, text=True, timeout=60, cwd=str(ROOT))
        assert out.returncode == 0, out.stderr
        return _json.loads(out.stdout.strip().splitlines()[-1])

    return run
