"""Stage 4b of ``analyze``: rational and logarithmic laws from Darboux polynomials.

A polynomial ``p`` is *Darboux* for the generators when every ``⟨∇p, X_k⟩`` is a
multiple ``λ_k·p`` of it (cofactor ``λ_k``, a polynomial). Then
``h = P0 + Σ_i c_i log p_i`` is a law as soon as ``⟨∇P0, X_k⟩ + Σ_i c_i λ_{i,k} = 0``
for every ``k``: linear equations in ``(P0, c)`` once the ``p_i`` are known. With
``P0 = 0`` and integer ``c`` the law is the rational function ``Π p_i^{c_i}``
(``u0/u1``); otherwise it reads ``d − log(a + s0)``. Candidates here are the
coordinates and the binomials ``x_i ± x_j``, ``P0`` is linear; every law is then
re-checked as the exact polynomial identity ``Π_i p_i·⟨∇P0, X⟩ + Σ_i c_i ⟨∇p_i, X⟩
Π_{j≠i} p_j = 0`` by the independent checker (``docs/certificate-format.md``).

Examples
--------
>>> import flowlaws as fl
>>> res = fl.analyze(fl.models.symmetric_factorization(1, 2))
>>> [str(h) for h in res.nonpolynomial_laws]
['U[0,0]/U[0,1]']
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..errors import BudgetExceeded
from .bounds import Bounds
from .family import generator_family, uses_network_route
from .problem import Problem

__all__ = ["darboux_stage", "log_laws", "MAX_BINOMIAL_DIM"]

#: Binomials ``x_i ± x_j`` are tried up to this dimension (coordinates always, up to 64).
MAX_BINOMIAL_DIM = 24


def _sparse(form: dict[int, int]) -> dict:
    """A linear form ``{var: coef}`` as a sparse polynomial ``{((var, 1),): coef}``."""
    return {((v, 1),): c for v, c in sorted(form.items())}


def _candidates(n: int) -> list[dict[int, int]]:
    out = [{i: 1} for i in range(n)]
    if n <= MAX_BINOMIAL_DIM:
        out += [{i: 1, j: s} for i in range(n) for j in range(i + 1, n) for s in (1, -1)]
    return out


def _darboux(fields: list[tuple], ctx: Any, n: int) -> list[tuple[dict[int, int], list[Any]]]:
    """The candidate linear forms that are Darboux, with their cofactors (one per field)."""
    gens = ctx.gens()
    found = []
    for form in _candidates(n):
        p = sum((c * gens[i] for i, c in form.items()), ctx.from_dict({}))
        cofactors = []
        for X in fields:
            num = sum((c * X[i] for i, c in form.items()), ctx.from_dict({}))
            try:
                cofactors.append(num / p)  # exact division, or flint's DomainError
            except Exception:  # noqa: BLE001 - python-flint raises its own DomainError for "not divisible"
                break
        else:
            found.append((form, cofactors))
    return found


def log_laws(fields: list[tuple], n: int, law_point: Any, prime: int, basis: Any, wanted: int) -> list[dict]:
    """Up to ``wanted`` laws ``{"polynomial": P0, "logs": [(c, p), ...]}`` (sparse polynomials) independent of
    ``basis`` (an incremental basis of the known laws' gradients mod ``prime``, extended in place)."""
    import flint

    if not fields or wanted <= 0:
        return []
    ctx = fields[0][0].context()
    darboux = _darboux(fields, ctx, n)
    if not darboux:
        return []
    # unknowns: c_i (one per Darboux form), then b_j (the linear part P0 = Σ b_j x_j)
    rows: dict[tuple[int, tuple], list[int]] = {}
    width = len(darboux) + n
    for k, X in enumerate(fields):
        for col, (_form, cof) in enumerate(darboux):
            for mono, c in cof[k].to_dict().items():
                rows.setdefault((k, tuple(mono)), [0] * width)[col] += int(c)
        for j in range(n):
            for mono, c in X[j].to_dict().items():
                rows.setdefault((k, tuple(mono)), [0] * width)[len(darboux) + j] += int(c)
    matrix = list(rows.values()) or [[0] * width]
    null, nullity = flint.fmpz_mat(matrix).nullspace()
    out: list[dict] = []
    point = [int(x) % prime for x in law_point]
    for col in range(nullity):
        vec = [int(null[r, col]) for r in range(width)]
        g = math.gcd(*vec)
        vec = [v // g for v in vec] if g > 1 else vec
        logs = [(c, form) for c, (form, _cof) in zip(vec[: len(darboux)], darboux) if c]
        if not logs:
            continue  # a polynomial law: the degree search's business
        grad = [vec[len(darboux) + j] % prime for j in range(n)]
        usable = True
        for c, form in logs:
            value = sum(a * point[i] for i, a in form.items()) % prime
            if not value:
                usable = False
                break
            inv = pow(value, -1, prime)
            for i, a in form.items():
                grad[i] = (grad[i] + c * a * inv) % prime
        if not usable:
            continue
        if basis.add(np.array([grad], dtype=np.int64))[0]:
            out.append({"polynomial": _sparse({j: b for j, b in enumerate(vec[len(darboux):]) if b}),
                        "logs": [(c, _sparse(form)) for c, form in logs]})
            if len(out) == wanted:
                break
    return out


def darboux_stage(problem: Problem, family: Any, bounds: Bounds,
                  progress: Callable[[str, int, int], None] | None) -> Iterator[Bounds]:
    """Add rational / logarithmic laws when the polynomial ones fall short of ``dim − rank``."""
    upper = problem.dim - bounds.rank_value
    missing = upper - len(bounds.laws) - len(bounds.log_laws)
    if bounds.rank is None or missing <= 0 or problem.dim > 64:
        return
    t = time.perf_counter()
    if uses_network_route(problem.model, problem.flow):
        try:
            family = generator_family(problem.model, problem.flow, prime=problem.prime, seed=problem.seed,
                                      explicit=True)
        except BudgetExceeded:
            return
    fields = getattr(family, "fields", None)
    if not fields:
        return
    from ..algebra._laws import independent_subset

    _kept, basis = independent_subset(list(bounds.laws), problem.law_point, problem.prime, problem.dim)
    found = log_laws(list(fields), problem.dim, problem.law_point, problem.prime, basis, missing)
    if progress is not None:
        progress("rational and logarithmic laws", len(found), missing)
    if found:
        yield bounds.with_log_laws(found).timed("laws", time.perf_counter() - t)
