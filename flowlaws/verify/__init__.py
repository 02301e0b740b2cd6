"""The independent checker: re-derive a claim about conservation laws.

The checker, :mod:`flowlaws.verify.checker`, stands apart from the engine. It
rebuilds the reparametrization, the generators, the bracket words, the ranks
and the law identities from plain data with its own small, pure-Python
arithmetic (:mod:`flowlaws.verify.checker._polys`,
:mod:`flowlaws.verify.checker._modp`), and imports nothing of flowlaws but
:mod:`flowlaws.errors`: neither :mod:`flowlaws.algebra`, :mod:`flowlaws.models`
nor python-flint, so a bug in the engine cannot pass its own check. The user
tools beside it in this package use the checker's arithmetic; the checker
never imports them.

* :func:`check_certificate` checks a certificate
  (``docs/certificate-format.md``) and returns a report of what it proved;
  :func:`read_certificate` reads one from a JSON file.
* :func:`is_conserved` / :func:`assert_conserved` check one law exactly
  against a model's flow; the latter raises :class:`NotConserved` with a
  counterexample point.

Around the checker, loaded on first use (they are not part of it):

* :func:`drift` (a :class:`DriftReport`) and :func:`simulate_gd`: the
  numerical companion, how much a law moves along a float64 gradient descent
  trajectory (``O(η²)`` per step) next to its exact conservation by the flow;
* :mod:`flowlaws.verify.strategies`: Hypothesis strategies (``mlps()``,
  ``graphs()``, ``points(model)``, ...) and ``given_model`` for property tests
  of your own laws; the pytest plugin (``_flowlaws_pytestplugin``) adds a
  ``flowlaws`` fixture and ``--flowlaws-certify``.

Flows: gradient (euclidean or the NMF metric ``diag(θ)``), heavy-ball momentum
with an exact damping ``τ`` (also with the NMF metric) and Nesterov, on the
phase space ``(s = e^{τt} or t, θ, θ')`` as ``docs/certificate-format.md`` says.

What it does not check: that the parameter names in ``variables`` or the
``library`` and ``timings`` fields are meaningful (information only; time and
velocity names are checked).

Examples
--------
>>> from flowlaws.verify import check_certificate
>>> law = [["1", [[0, 2]]], ["-1", [[1, 2]]]]          # x0^2 - x1^2
>>> cert = {
...     "schema": "flowlaws-certificate/1", "dim": 2, "variables": ["x0", "x1"],
...     "model": {"kind": "polynomials", "phi": [[["1", [[0, 1], [1, 1]]]]]},
...     "flow": {"name": "gradient"}, "generators": {"kind": "coordinates"},
...     "rank": {"prime": 101, "point": [1, 2], "words": [0], "value": 1},
...     "laws": [law],
...     "independence": {"prime": 101, "point": [1, 2], "value": 1},
...     "bounds": {"lower": 1, "upper": 1}, "count": 1, "complete": True,
... }
>>> check_certificate(cert)["proved"]
{'upper_bound': 1, 'lower_bound': 1, 'exact': True}
"""

from __future__ import annotations

from typing import Any

from .checker import check_certificate, read_certificate
from ._conserved import NotConserved, assert_conserved, is_conserved

__all__ = [
    "check_certificate",
    "read_certificate",
    "is_conserved",
    "assert_conserved",
    "NotConserved",
    "drift",
    "simulate_gd",
    "DriftReport",
    "step_drift",
    "StepDrift",
    "strategies",
]

_LAZY = {"drift": "._drift", "simulate_gd": "._drift", "DriftReport": "._drift", "strategies": ".strategies",
         "step_drift": "._step", "StepDrift": "._step"}


def __getattr__(name: str) -> Any:
    # the companion tools load on first use: checking a certificate never imports them
    if name in _LAZY:
        import importlib

        module = importlib.import_module(_LAZY[name], __name__)
        value = module if name == "strategies" else getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
