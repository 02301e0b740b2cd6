"""Stage 3a of ``analyze``: the time-weighted charges of momentum flows, at their degree in (θ, θ').

Under Nesterov's flow a Noether charge reads ``t³·Q(θ, θ')`` with ``Q`` bilinear, and
under momentum with ``τ > 0`` it reads ``s·Q`` (``s = e^{τt}``): total degree 5 and 3.
The degree-by-degree search reaches degree 5 only after solving every degree below,
on ``C(2D + 6, 5)`` monomials. This stage looks for them directly among the ``D²``
monomials ``t^k·θ_i·θ'_j`` (each law verified exactly, as every law of the search),
so the time factor is treated apart from the degree in ``(θ, θ')``.

Examples
--------
>>> import flowlaws as fl
>>> res = fl.analyze(fl.models.factorization(1, 3, 1), flow="nesterov")
>>> res.complete, len(res.laws), str(res.laws[0]).startswith("t^3*")
(True, 6, True)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from ..algebra._laws import independent_subset
from .bounds import Bounds
from .problem import Problem

__all__ = ["time_charges_stage", "time_power"]


def time_power(problem: Problem) -> int:
    """The power ``k`` of the time coordinate in the charges: 3 (Nesterov), 1 (momentum, ``τ > 0``), else 0."""
    flow = problem.flow
    if flow.name == "nesterov":
        return 3
    return 1 if flow.name == "momentum" and flow.tau else 0


def time_charges_stage(problem: Problem, family: Any, bounds: Bounds,
                       progress: Callable[[str, int, int], None] | None) -> Iterator[Bounds]:
    """Add the verified charges ``t^k·θᵀAθ'`` to ``bounds`` before the degree search."""
    k = time_power(problem)
    D = problem.model.dim
    upper = problem.dim - bounds.rank_value if bounds.rank is not None else problem.dim
    if k < 1 or bounds.search is None or len(bounds.laws) >= upper or problem.max_degree < k + 2:
        return
    t = time.perf_counter()
    monos = [(0,) * k + (1 + i, 1 + D + j) for i in range(D) for j in range(D)]
    found = bounds.search.laws_among(monos)
    if not found:
        return
    if progress is not None:
        progress("time-weighted charges", len(found), problem.dim)
    laws, basis = independent_subset(list(bounds.laws) + found, problem.law_point, problem.prime, problem.dim)
    yield bounds.with_laws(laws, basis=basis).timed("laws", time.perf_counter() - t)
