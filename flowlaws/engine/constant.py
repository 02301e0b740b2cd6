"""The degenerate case of ``analyze``: a constant φ under gradient flow.

When every coordinate of φ is constant (``from_polynomials(["3"])``, or a model
whose every path crosses a weight frozen at 0), no loss moves the parameters:
the gradient fields all vanish, the rank is 0 and each parameter is itself a
conservation law, so the count is ``D`` with the coordinates as laws. (Momentum
and Nesterov keep their drift and go through the usual stages.)

Examples
--------
>>> import flowlaws as fl
>>> res = fl.analyze(fl.models.from_polynomials(["3"], variables=["a", "b"]))
>>> res.count, res.complete, [str(h) for h in res.laws]
(2, True, ['a', 'b'])
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ..algebra._laws import independent_subset
from ..algebra._lie import LieRank
from ..errors import BudgetExceeded
from .bounds import Bounds
from .problem import Problem

__all__ = ["constant_phi_bounds", "constant_phi_stage", "phi_is_constant"]

#: Terms of φ expanded to decide that a network's φ is constant (only once its rank came out 0).
MAX_PHI_TERMS = 100_000


def phi_is_constant(model: Any) -> bool:
    """Whether every coordinate of φ is constant, decided exactly (False when φ is too large to expand)."""
    try:
        phi = model.phi_polynomials(max_terms=MAX_PHI_TERMS) if model.kind == "network" else model.phi_polynomials()
    except BudgetExceeded:
        return False
    return not any(c for coord in phi for mono, c in coord.items() if any(mono))


def _coordinate_laws(problem: Problem, bounds: Bounds) -> Bounds:
    laws = [{((i, 1),): 1} for i in range(problem.dim)]
    laws, basis = independent_subset(laws, problem.law_point, problem.prime, problem.dim)
    return (bounds.with_rank(LieRank(rank=0, words=[], saturated=True)).with_laws(laws, basis=basis).with_search(None)
            .note("φ is constant: no loss moves the parameters, so every parameter is conserved"))


def constant_phi_bounds(problem: Problem) -> Bounds | None:
    """The proved bounds of a constant polynomial φ under gradient flow (every parameter a law), else None."""
    if problem.flow.phase or problem.model.kind != "polynomials" or not phi_is_constant(problem.model):
        return None
    return _coordinate_laws(problem, Bounds())


def constant_phi_stage(problem: Problem, family: Any, bounds: Bounds,
                       progress: Callable[[str, int, int], None] | None) -> Iterator[Bounds]:
    """Last stage: a network under gradient flow whose rank is 0 and whose φ is constant gets its ``D`` laws."""
    if (problem.flow.phase or bounds.rank_value != 0 or len(bounds.laws) >= problem.dim
            or not phi_is_constant(problem.model)):
        return
    yield _coordinate_laws(problem, bounds)
