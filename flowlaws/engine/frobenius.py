"""Stage 4 of ``analyze``: prove the count by Frobenius when the explicit laws fall short.

When the law search ends below the upper bound ``dim − r``, the missing laws may
simply not be polynomial (``d − log(a + s0)``, ratios of parameters). The rank
words ``Y_1..Y_r`` are brackets of the generators, so they lie in the generated
Lie algebra; if every generator ``Z`` and every bracket ``[Y_i, Y_j]`` satisfies
an exact identity ``q·Z = Σ_l p_l·Y_l`` with polynomials ``q ≠ 0`` and ``p_l``,
the ``Y`` span an involutive distribution of rank ``r`` containing the
generators on a dense open set, and Frobenius' theorem gives exactly ``dim − r``
local conservation laws (``docs/certificate-format.md``, "The Frobenius step").

The identities are found by Cramer's rule: pick ``r`` coordinates where the
``Y`` are independent at the rank point, solve ``M p = q Z`` on them with
fraction-free Gauss–Jordan elimination (Bareiss) over Z[x], so ``q = ±det M``,
and check the identity on every coordinate exactly. Only explicit models with
small ``r`` and dimension are tried (the cost grows like ``r³`` products of
polynomials whose degree grows with ``r``); otherwise the result stays "bounds
only".

Examples
--------
>>> import flowlaws as fl
>>> res = fl.analyze(fl.models.symmetric_factorization(1, 2))  # the law x0/x1 is not polynomial
>>> res.count, res.complete, len(res.laws)
(1, True, 0)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..algebra._lie import lie_rank
from ..algebra._modular import IncrementalBasis
from ..algebra._polynomial_fields import bracket, evaluate_field
from ..errors import BudgetExceeded
from .bounds import Bounds
from .family import generator_family, uses_network_route
from .problem import Problem

__all__ = ["frobenius_stage", "frobenius_identities", "MAX_RANK", "MAX_DIM", "MAX_TERMS", "MAX_SECONDS"]

#: Largest rank ``r`` and phase-space dimension tried, and the most terms any polynomial of
#: the elimination may have before the stage gives up (it then leaves the bounds as they are).
MAX_RANK = 16
MAX_DIM = 64
MAX_TERMS = 5_000
#: Seconds the elimination may take before the stage gives up (checked between row operations).
MAX_SECONDS = 5.0


class _TooLarge(Exception):
    pass


def _check_size(*polys: Any) -> None:
    for f in polys:
        if len(f) > MAX_TERMS:
            raise _TooLarge


def frobenius_identities(Y: list[tuple], targets: list[tuple], point: list[int], p: int) -> tuple[Any, list[list[Any]]] | None:
    """``(q, [p_l per target])`` with ``q·Z = Σ_l p_l·Y_l`` exactly for every target ``Z``, or None.

    ``Y`` and ``targets`` are dense fields of python-flint polynomials in one
    context; ``point`` (mod ``p``) must make the ``Y`` independent.
    """
    r, n = len(Y), len(Y[0])
    basis = IncrementalBasis(n, p)  # its pivots: r coordinates where the Y are independent at the point
    if not basis.add(np.array([evaluate_field(y, point, p) for y in Y], dtype=np.int64)).all():
        return None
    pivots = basis.pivots
    ctx = Y[0][0].context()
    one = ctx.from_dict({(0,) * ctx.nvars(): 1})
    A = [[Y[l][c] for l in range(r)] for c in pivots]  # rows: coordinates; columns: unknowns p_l
    B = [[Z[c] for Z in targets] for c in pivots]
    prev = one
    deadline = time.perf_counter() + MAX_SECONDS
    try:
        for k in range(r):
            nonzero = [i for i in range(k, r) if not A[i][k].is_zero()]
            if not nonzero:
                return None
            piv = min(nonzero, key=lambda i: len(A[i][k]))  # the smallest pivot keeps the entries small
            A[k], A[piv], B[k], B[piv] = A[piv], A[k], B[piv], B[k]
            akk = A[k][k]
            for i in range(r):
                if i == k:
                    continue
                aik = A[i][k]
                A[i] = [(akk * A[i][j] - aik * A[k][j]) / prev if j != k else A[i][j] for j in range(r)]
                A[i][k] = ctx.from_dict({})
                B[i] = [(akk * B[i][t] - aik * B[k][t]) / prev for t in range(len(targets))]
                _check_size(*A[i], *B[i])
                if time.perf_counter() > deadline:
                    raise _TooLarge
            prev = akk
    except _TooLarge:
        return None
    q = A[0][0]
    if any(A[l][l] != q for l in range(r)):
        return None
    coefficients = [[B[l][t] for l in range(r)] for t in range(len(targets))]
    for Z, coef in zip(targets, coefficients):  # the claim itself, on every coordinate
        for c in range(n):
            acc = q * Z[c]
            for pl, y in zip(coef, Y):
                if not pl.is_zero() and not y[c].is_zero():
                    acc = acc - pl * y[c]
            if not acc.is_zero():
                return None
    return q, coefficients


def _poly_json(f: Any) -> list:
    return [[str(int(c)), [[v, int(e)] for v, e in enumerate(m) if e]] for m, c in sorted(f.to_dict().items())]


def frobenius_stage(problem: Problem, family: Any, bounds: Bounds,
                    progress: Callable[[str, int, int], None] | None) -> Iterator[Bounds]:
    """Yield ``bounds`` with a proved Frobenius claim when the laws stop short of ``dim − r``."""
    rank = bounds.rank
    upper = problem.dim - bounds.rank_value
    if rank is None or len(bounds.laws) + len(bounds.log_laws) >= upper or not 0 < rank.rank <= MAX_RANK or problem.dim > MAX_DIM:
        return
    t = time.perf_counter()
    if progress is not None:
        progress("Frobenius identities", 0, 1)
    explicit = uses_network_route(problem.model, problem.flow)
    if explicit:  # a small network: the identities need the explicit fields, and the words on them
        try:
            family = generator_family(problem.model, problem.flow, prime=problem.prime, seed=problem.seed,
                                      explicit=True)
        except BudgetExceeded:
            return
        rank = lie_rank(family, problem.point)
        if rank.rank != bounds.rank_value:
            return
    if not hasattr(family, "word_polynomial") or len(rank.words) != rank.rank:
        return
    Y = [family.word_polynomial(tuple(w)) for w in rank.words]
    pairs = [(i, j) for i in range(len(Y)) for j in range(i + 1, len(Y))]
    targets = list(family.fields) + [bracket(Y[i], Y[j]) for i, j in pairs]
    found = frobenius_identities(Y, targets, [int(x) for x in problem.point], problem.prime)
    bounds = bounds.timed("frobenius", time.perf_counter() - t)
    if found is None:
        yield bounds.note("the Frobenius identities were not found within the stage's limits "
                          f"(MAX_TERMS={MAX_TERMS} terms, MAX_SECONDS={MAX_SECONDS:g} s)")
        return
    q, coefficients = found
    g = len(family.fields)
    claim = {
        "q": _poly_json(q),
        "generators": [[_poly_json(f) for f in row] for row in coefficients[:g]],
        "brackets": [[_poly_json(f) for f in row] for row in coefficients[g:]],
    }
    listed = len(bounds.laws) + len(bounds.log_laws)
    yield bounds.with_rank(rank).with_frobenius(claim, explicit=explicit).note(
        f"count proved by Frobenius: the {rank.rank} rank words span an involutive distribution containing the "
        f"generators, so there are exactly {upper} independent local laws ({listed} of them listed; the rest are "
        f"neither polynomial of degree <= {problem.max_degree} nor of the rational / logarithmic forms looked for)"
    )
