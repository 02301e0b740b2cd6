"""Sign-GD ``θ' = −sign(∇L)`` and the Adam-type flow ``θ' = −P(t)∇L``: laws near a point, with bounds.

With ``L = ℓ(φ(θ))`` the gradient is ``x = Σ c_i ∇φ_i(θ) ∈ V(θ)`` for any
loss (``c = ∇ℓ``), so the update directions at ``θ`` are ``sign(x)`` (sign-GD)
or ``P x`` with ``P`` any positive diagonal matrix (the limit model of Adam:
its preconditioner ``P(t) = diag(1/(√v_t + ε))`` is positive and otherwise
left free, so the laws found hold for every such ``P``). A law near ``θ0`` is
an ``h`` with ``⟨∇h(θ), d⟩ = 0`` for every achievable direction ``d`` at every
``θ`` near ``θ0``.

* **Upper bound** (both flows): a vector ``x ∈ V(θ0)`` with no zero entry
  except at the coordinates no ``φ_i`` depends on keeps its sign pattern on a
  neighbourhood of ``θ0`` (take the same ``c``), so ``sign(x)`` is an achievable
  direction there. ``r`` independent such sign vectors force ``∇h`` into an
  ``(D − r)``-dimensional space: ``#laws ≤ D − r``. For the Adam-type flow
  ``P x`` spans ``e_a`` for every ``a`` with ``x_a ≠ 0``: ``r`` is the number of
  coordinates with a non-zero derivative of φ at ``θ0``.
* **Lower bound**: linear laws, exact on an open cell around ``θ0``. A
  coordinate ``θ_a`` no ``φ_i`` depends on is a law of both flows. Under
  sign-GD, two coordinates whose rows ``R_a = (∂_a φ_i)_i`` and ``R_b`` are
  proportional as polynomials, ``R_a = κ R_b`` with ``κ > 0`` (resp. ``< 0``)
  at ``θ0``, move with equal (resp. opposite) signs wherever ``κ`` keeps its
  sign, so ``σ θ_a − εσ θ_b`` is a law there (``ε = sign κ``, ``σ = sign θ0_a``):
  for ``φ = uv``, ``sign(u0)u − sign(v0)v = |u| − |v|`` on the orthant of ``θ0``.
  The cell is the component of ``θ0`` where the derivatives ``∂_a φ_i`` and
  ``∂_b φ_i`` used as witnesses do not vanish.

When the bounds meet the count is exact near ``θ0``; otherwise both are
returned. This module does not follow trajectories across the cell's walls
(where a gradient coordinate vanishes and sign-GD is not smooth).

Examples
--------
>>> import flowlaws as fl
>>> out = sign_analysis(fl.models.factorization(1, 1, 1), "sign", seed=0)
>>> out.rank, len(out.laws), out.dim
(1, 1, 2)
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from ..errors import BudgetExceeded, InvalidArgument
from ..models._model import Model
from .fields import explicit_fields
from .flow import SIGN_FLOWS

__all__ = ["SIGN_FLOWS", "SignAnalysis", "sign_analysis"]

MAX_DIM = 400
MAX_COORDINATES = 5_000


@dataclass
class SignAnalysis:
    """What :func:`sign_analysis` proved near ``point``: ``rank`` directions, ``laws`` (linear, sparse)."""

    flow: str
    dim: int
    point: list[int]
    directions: list[list[int]]          # sign-GD: vectors x ∈ V(θ0); Adam: unused
    moving: list[int]                     # Adam: coordinates with a non-zero derivative at θ0
    rank: int
    laws: list[dict[tuple, int]]          # sparse polynomials {((var, 1),): coef}
    law_json: list[dict[str, Any]] = field(default_factory=list)
    region: str = ""


def _reduce(basis: list[tuple[int, list[int]]], row: list[int]) -> list[int] | None:
    """``row`` reduced by an echelon ``basis`` of ``(pivot, row)`` (fraction-free); ``None`` if it reduces to 0."""
    v = list(row)
    for piv, b in basis:
        if v[piv]:
            f, g = v[piv], b[piv]
            v = [g * x - f * y for x, y in zip(v, b)]
            d = math.gcd(*v)
            if d > 1:
                v = [x // d for x in v]
    return v if any(v) else None


def _sign(x: int) -> int:
    return (x > 0) - (x < 0)


def sign_analysis(model: Model, flow: str, *, seed: int = 0, max_dim: int = MAX_DIM, tries: int | None = None) -> SignAnalysis:
    """Bounds on the laws of ``flow`` (``"sign"`` or ``"adam"``) near a seeded integer point.

    Raises
    ------
    InvalidArgument
        An unknown flow.
    BudgetExceeded
        More than ``max_dim`` parameters or ``MAX_COORDINATES`` coordinates of φ.
    """
    if flow not in SIGN_FLOWS:
        raise InvalidArgument(f"flow={flow!r}: expected one of {SIGN_FLOWS}")
    D = model.dim
    if D > max_dim:
        raise BudgetExceeded(f"{model.name} has D={D} parameters, over max_dim={max_dim} for flow={flow!r}; raise max_dim")
    grads = explicit_fields(model, max_terms=MAX_COORDINATES * 4)
    if len(grads) > MAX_COORDINATES:
        raise BudgetExceeded(f"φ of {model.name} has {len(grads)} coordinates, over {MAX_COORDINATES} for flow={flow!r}")
    rng = random.Random(seed)
    point = [rng.choice([-1, 1]) * rng.randint(1, 9) for _ in range(D)]
    G = [[int(X[j](*point)) if j in X else 0 for j in range(D)] for X in grads]   # ∇φ_i(θ0), exact
    used = sorted({j for X in grads for j in X})
    loops = [j for j in range(D) if j not in set(used)]
    laws: list[dict] = [{((j, 1),): 1} for j in loops]
    law_json: list[dict[str, Any]] = [{"kind": "fixed", "a": j} for j in loops]
    if flow == "adam":
        moving = [j for j in used if any(row[j] for row in G)]
        region = "a neighbourhood of the point (every parameter with a non-zero derivative of phi there keeps it)"
        return SignAnalysis(flow, D, point, [], moving, len(moving), laws, law_json, region)
    pairs, cells = _parallel_laws(grads, G, point, model.variables)
    laws += [h for h, _ in pairs]
    law_json += [j for _, j in pairs]
    target = D - len(laws)
    directions: list[list[int]] = []
    basis: list[tuple[int, list[int]]] = []
    rank = 0
    budget = tries if tries is not None else 500 + 50 * D
    N = len(G)
    big = max((abs(v) for row in G for v in row), default=0) * 10**4 * max(N, 1) >= 2**62
    Gn = None if (big or not N) else np.array(G, dtype=np.int64)   # exact while no sum can overflow
    for attempt in range(budget if N else 0):
        if rank >= target:
            break
        R = (4, 60, 10**4)[attempt % 3]   # small and wide coefficients reach different sign patterns
        c = [rng.randint(-R, R) for _ in range(N)]
        if Gn is not None:
            x = [int(v) for v in np.array(c, dtype=np.int64) @ Gn]
        else:
            x = [sum(c[i] * G[i][j] for i in range(N)) for j in range(D)]
        if any(x[j] == 0 for j in used):
            continue   # a zero entry may change sign nearby: not a certified direction
        v = _reduce(basis, [_sign(v) for v in x])
        if v is not None:
            basis.append((next(i for i, e in enumerate(v) if e), v))
            directions.append(x)
            rank += 1
    region = ("the open cell around the point where " + "; ".join(cells)) if cells else "a neighbourhood of the point"
    return SignAnalysis(flow, D, point, directions, [], rank, laws, law_json, region)


def _parallel_laws(grads: list[dict], G: list[list[int]], point: list[int], names: tuple[str, ...]) -> tuple[list, list[str]]:
    """Laws ``σθ_a − εσθ_b`` of sign-GD from rows ``R_a ∥ R_b`` (exact polynomial identities), one per
    coordinate beyond the first of each parallel class."""
    D = len(names)
    rows = [[i for i, row in enumerate(G) if row[a]] for a in range(D)]
    rep: dict[int, tuple[int, int, int]] = {}   # a -> (representative b, ε, witness i)
    out, cells = [], []
    for a in range(D):
        if not rows[a] or a in rep:
            continue
        for b in range(a + 1, D):
            if b in rep or set(rows[b]) != set(rows[a]):
                continue
            i = rows[a][0]
            # values at θ0 first: R_a(θ0) ∥ R_b(θ0)
            if any(G[i][a] * G[k][b] != G[k][a] * G[i][b] for k in range(len(G))):
                continue
            Rai, Rbi = grads[i][a], grads[i][b]
            if not all(grads[k].get(a, 0 * Rai) * Rbi == Rai * grads[k].get(b, 0 * Rbi) for k in range(len(G))):
                continue
            eps = _sign(G[i][a] * G[i][b])
            rep[b] = (a, eps, i)
            sa = _sign(point[a]) or 1
            h = {((a, 1),): sa, ((b, 1),): -eps * sa}
            out.append((h, {"kind": "parallel", "a": a, "b": b, "sign": eps, "linear": [[a, sa], [b, -eps * sa]]}))
            cells.append(f"d/d{names[a]} and d/d{names[b]} of a coordinate of phi do not vanish")
    return out, cells
