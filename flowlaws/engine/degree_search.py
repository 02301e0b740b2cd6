"""Stage 3 of ``analyze``: the exact law search degree by degree, with the rank as upper bound.

At each degree the search's new laws (each verified exactly) that raise the
Jacobian rank at the law point are kept; from degree 2 on, the rank of the
generated Lie algebra is computed (or extended) with the target
``dim − #laws``. The search stops when the bounds meet, when the search is
exhausted or over budget, or at ``max_degree``.

:func:`search_by_degree` is a generator of
:class:`~flowlaws.engine.bounds.Bounds`; the caller keeps the last one yielded.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from ..algebra._laws import independent_subset
from ..algebra._lie import lie_rank
from ..errors import BudgetExceeded, FlowlawsError
from .bounds import Bounds
from .problem import Problem

__all__ = ["search_by_degree"]


def search_by_degree(problem: Problem, family, bounds: Bounds, progress: Callable[[str, int, int], None] | None,
                     *, fixed_rank: bool = False) -> Iterator[Bounds]:
    """Improve ``bounds`` degree by degree (``fixed_rank``: the rank is final, never recomputed)."""
    D = problem.dim
    if bounds.search is None and bounds.rank is not None:
        return
    for degree in range(1, problem.max_degree + 1):
        if bounds.search is not None:
            t = time.perf_counter()
            try:
                new = bounds.search.laws_of_degree(degree)
            except BudgetExceeded as err:
                bounds = bounds.note(f"law search stopped before degree {degree}: {err}").with_search(None)
                new = []
            kept, basis = independent_subset(new, problem.law_point, problem.prime, D, bounds.basis)
            bounds = bounds.with_laws(list(bounds.laws) + kept, basis=basis).timed("laws", time.perf_counter() - t)
            yield bounds
            if progress is not None:
                progress(f"laws of degree {degree}", len(bounds.laws), D)
        if degree < min(2, problem.max_degree) and bounds.search is not None:
            continue
        rank = bounds.rank
        if rank is None or (rank.rank < D - len(bounds.laws) and not rank.saturated and not fixed_rank):
            t = time.perf_counter()
            rank = lie_rank(family, problem.point, target=D - len(bounds.laws), progress=progress)
            bounds = bounds.with_rank(rank).timed("rank", time.perf_counter() - t)
            yield bounds
        if rank.rank + len(bounds.laws) > D:
            raise FlowlawsError(
                f"internal inconsistency: rank {rank.rank} + {len(bounds.laws)} laws > D={D}; please report this"
            )
        if rank.rank + len(bounds.laws) == D or bounds.search is None:
            return
