"""Stage 2 of ``analyze`` on the network route: the laws the architecture suggests.

Rescaling and rotation symmetries of neurons suggest laws (``‖in‖² − ‖out‖²``
per ReLU neuron, Gram entries of linear layers, their Noether charges under
momentum). Each candidate is verified exactly by the local verifier, and the
rank is then computed with the target ``dim − #laws``: when it is met the
count is certified and no generic law search runs.

Each function is a generator of :class:`~flowlaws.engine.bounds.Bounds`: the
caller keeps the last one yielded, which is proved even if it is interrupted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from math import comb

from ..algebra._laws import independent_subset, jacobian_rows
from ..algebra._lie import drift_lie_rank, lie_rank
from ..algebra._modular import rank_mod
from ..algebra._dag_candidates import dag_momentum_candidates, dag_structural_candidates
from ..algebra._network_laws import PhaseLocalVerifier
from .bounds import Bounds
from .family import generator_family
from .problem import Problem
from .search import law_search

__all__ = ["gradient_structural_laws", "phase_structural_laws"]

Progress = Callable[[str, int, int], None] | None


def gradient_structural_laws(problem: Problem, family, bounds: Bounds, progress: Progress) -> Iterator[Bounds]:
    """Gradient flow: verified symmetry laws, then the rank towards ``dim − #laws``.

    Yields the bounds with the laws, then with the rank; when they do not meet,
    the laws are dropped again (the generic search finds them in its own basis).
    """
    if problem.max_degree < 2:
        return
    D, prime = problem.dim, problem.prime
    if progress is not None:
        progress("generators and structural laws", 0, D)
    t = time.perf_counter()
    candidates = [h for h in dag_structural_candidates(family.network) if bounds.search.verifier(h)]
    polys, basis = independent_subset(candidates, problem.law_point, prime, D)
    bounds = bounds.with_laws(polys, basis=basis).timed("laws", time.perf_counter() - t)
    if progress is not None:
        progress("structural laws verified", len(polys), D)
    if not polys:
        return
    yield bounds
    t = time.perf_counter()
    rank = lie_rank(family, problem.point, target=D - len(polys), progress=progress)
    bounds = bounds.timed("rank", time.perf_counter() - t)
    if rank.rank + len(polys) == D:
        yield bounds.with_rank(rank).with_search(None)  # certified: no generic search needed
    else:
        yield bounds.with_laws([], basis=None)


def phase_structural_laws(problem: Problem, family, bounds: Bounds, progress: Progress) -> Iterator[Bounds]:
    """Momentum / Nesterov on a network: Noether charges, the phase rank, maybe a generic search.

    The charges of the linear hidden layers are verified exactly by the local
    phase verifier; the rank of the phase fields is computed on jets with the
    target ``dim − #charges``. When it is met the count is certified (for ReLU
    nets the rank alone proves 0 laws). Otherwise the bounds carry the generic
    law search on the explicit fields when the phase space is small enough for
    its budget at degree 3, else a note that only the charges were looked for.
    """
    D, prime, drift = problem.dim, problem.prime, family.drift
    t = time.perf_counter()
    polys: list = []
    basis = None
    if problem.max_degree >= 2 + drift.time_power:
        check = PhaseLocalVerifier(family.network, drift.kind, drift.a, drift.b, drift.k)
        candidates = [h for h in dag_momentum_candidates(family.network, drift.time_power) if check(h)]
        # in the regime of DESIGN section 4 the charges are independent: one dense rank proves it
        if candidates and rank_mod(jacobian_rows(candidates, problem.law_point, prime, D), prime) == len(candidates):
            polys = candidates
        else:
            polys, basis = independent_subset(candidates, problem.law_point, prime, D)
    bounds = bounds.with_laws(polys, basis=basis).timed("laws", time.perf_counter() - t)
    yield bounds
    t = time.perf_counter()
    rank = drift_lie_rank(family, problem.point, target=D - len(polys), progress=progress)
    bounds = bounds.with_rank(rank).timed("rank", time.perf_counter() - t)
    yield bounds
    if rank.rank + len(polys) >= D:
        return
    if comb(D + 2, 3) > problem.max_monomials:
        yield bounds.note(
            f"only the {len(polys)} structural charge(s) were looked for: the generic law search on the "
            f"phase space of dimension {D} is over max_monomials={problem.max_monomials} from degree 3"
        )
        return
    t = time.perf_counter()
    if basis is None:  # the search extends the charges' Jacobian basis
        polys, basis = independent_subset(polys, problem.law_point, prime, D)
    explicit = generator_family(problem.model, problem.flow, prime=prime, seed=problem.seed, explicit=True)
    search = law_search(problem.model, explicit, problem.flow, prime=prime, max_monomials=problem.max_monomials,
                        seed=problem.seed + 1, explicit=True)
    yield bounds.with_laws(polys, basis=basis).with_search(search).timed("setup", time.perf_counter() - t)
