"""The generator fields of a flow as explicit python-flint polynomials (the path-lifting expanded).

This is the route of models given by polynomials, of non-euclidean flows of
networks and of the exhaustive law search of momentum flows on small
networks; networks under euclidean flows are evaluated at points instead
(:mod:`flowlaws.engine.family`).

Examples
--------
>>> import flowlaws as fl
>>> fields = explicit_fields(fl.models.factorization(1, 1, 1))   # φ = x0*x1
>>> [sorted(str(c) for c in X.values()) for X in fields]
[['x0', 'x1']]
"""

from __future__ import annotations

from typing import Any

from ..algebra._polynomial_fields import sparse_gradient
from ..models._model import Model
from .flow import Flow, drift_scale
from .metric import MatrixMetric

__all__ = ["explicit_fields", "fields_homogeneous", "degree_weights", "dense_fields", "flint_context"]


def flint_context(n: int):
    import flint

    return flint.fmpz_mpoly_ctx.get(("x", n), "deglex")


def explicit_fields(model: Model, flow: Flow | None = None, *, max_terms: int | None = None) -> list[dict]:
    """The generator fields of ``flow`` as sparse python-flint fields ``{variable: component}``.

    For phase-space flows field 0 is the drift ``χ_0`` and field ``k ≥ 1`` the
    lift of ``∇φ_{k-1}`` (``docs/certificate-format.md``).
    """
    flow = flow or Flow("gradient")
    kwargs = {} if max_terms is None else {"max_terms": max_terms}
    phi = model.phi_polynomials(**kwargs)
    D = model.dim
    if not flow.phase:
        ctx = flint_context(D)
        gens = ctx.gens()
        fields = [sparse_gradient(ctx.from_dict(coord)) for coord in phi if coord]
        if flow.metric == "nmf":
            fields = [{j: gens[j] * c for j, c in X.items()} for X in fields]
        elif isinstance(flow.metric, MatrixMetric):
            P = flow.metric.numerators(ctx)
            fields = [_times_matrix(P, X, 0, 0) for X in fields]
        return fields
    n = 2 * D + 1
    ctx = flint_context(n)
    g = ctx.gens()
    s, v = g[0], g[D + 1 :]
    one = ctx.from_dict({(0,) * n: 1})
    drift: dict[int, Any] = {}
    a, b, k = drift_scale(flow)  # χ_0 times b: (a s, b v, −a v − k θ), or (b, b v, −k θ) for τ = 0
    if flow.name == "momentum" and flow.tau:
        drift[0] = a * s
        for j in range(D):
            drift[1 + j] = b * v[j]
            drift[D + 1 + j] = -a * v[j] - k * g[1 + j] if k else -a * v[j]
    elif flow.name == "momentum":
        drift[0] = b * one
        for j in range(D):
            drift[1 + j] = b * v[j]
            if k:
                drift[D + 1 + j] = -k * g[1 + j]
    else:  # nesterov, multiplied by t
        drift[0] = s
        for j in range(D):
            drift[1 + j] = s * v[j]
            drift[D + 1 + j] = -3 * v[j]
    fields = [drift]
    P = flow.metric.numerators(ctx, 1) if isinstance(flow.metric, MatrixMetric) else None
    for coord in phi:
        if not coord:
            continue
        lifted = ctx.from_dict({(0,) + m + (0,) * D: c for m, c in coord.items()})
        G = sparse_gradient(lifted)  # components on θ (indices 1..D)
        if P is not None:  # (0, 0, P(θ) ∇φ): the metric at the position θ
            fields.append(_times_matrix(P, G, 1, D + 1))
            continue
        H = {}
        for j, comp in G.items():
            if flow.metric == "nmf":
                if flow.tau:
                    weight = flow.tau.numerator * g[j] + flow.tau.denominator * g[D + j]
                else:
                    weight = g[D + j]
                comp = weight * comp
            H[D + j] = comp  # θ index j (1-based) -> velocity index D + j
        fields.append(H)
    return fields


def _times_matrix(P: dict[tuple[int, int], Any], G: dict[int, Any], source: int, target: int) -> dict[int, Any]:
    """``P·G``: component ``target + i`` is ``Σ_j P_ij G[source + j]`` (zero components dropped)."""
    out: dict[int, Any] = {}
    for (i, j), pij in P.items():
        g = G.get(source + j)
        if g is not None:
            out[target + i] = out[target + i] + pij * g if target + i in out else pij * g
    return {k: v for k, v in sorted(out.items()) if not v.is_zero()}


def fields_homogeneous(fields: list[dict], weights: list[int] | None = None) -> bool:
    """True when every field ``Σ χ_e ∂_e`` shifts the (weighted) degree by one amount.

    With ``weights`` a term ``m ∂_e`` shifts by ``w·m − w_e``; without, every
    variable weighs 1 and the test is on total degree.
    """
    for X in fields:
        shifts = set()
        for e, comp in X.items():
            for m in comp.monoms():
                shifts.add(sum(mi * (weights[i] if weights else 1) for i, mi in enumerate(m)) - (weights[e] if weights else 1))
        if len(shifts) > 1:
            return False
    return True


def degree_weights(flow: Flow, D: int) -> list[int] | None:
    """Weights making the phase-space fields homogeneous when total degree does not."""
    if flow.name == "nesterov":
        return [1] + [1] * D + [0] * D
    if flow.name == "momentum" and not flow.tau:
        return [0] + [1] * D + [1] * D
    return None


def dense_fields(fields: list[dict], n: int) -> list[tuple]:
    zero = flint_context(n).from_dict({})
    return [tuple(X.get(v, zero) for v in range(n)) for X in fields]
