"""The :class:`Result` of gradient flow with weight decay ``θ' = −∇L − λθ``, from gradient flow's.

The mathematics and the certificate section are in :mod:`flowlaws.engine.weight_decay`;
this module only assembles what ``analyze(..., weight_decay=λ)`` returns: the
phase space ``(s = e^{λt}, θ)`` of dimension ``D + 1``, rank ``1 + r``, and each
law ``H`` of gradient flow as ``H(sθ)``, shown as ``exp(dλ·t)·H(θ)`` when ``H`` is
homogeneous of degree ``d``.

Examples
--------
>>> import flowlaws as fl
>>> res = fl.analyze(fl.models.factorization(1, 1, 1), weight_decay="1/10")
>>> res.dim, res.rank, res.count, res.complete
(3, 2, 1, True)
>>> print(res.laws[0])
exp(1/5*t)*(V[0,0]^2 - U[0,0]^2)
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from typing import Any, Callable

from ._result import Result
from .engine.flow import Flow, check_flow
from .engine.fields import explicit_fields
from .engine.weight_decay import components_conserved, decay_section, exact_weight_decay, homogeneous_degree, scaled_law
from .errors import InvalidArgument
from .laws import Law

__all__ = ["analyze_weight_decay", "decayed_result"]


def analyze_weight_decay(analyze: Callable[..., Result], model: Any, weight_decay: Any, *, flow: Any = "gradient",
                         metric: Any = None, **options: Any) -> Result:
    """``analyze(model, flow=flow, weight_decay=λ, ...)``: validate ``λ``, run the flow, carry its laws over."""
    lam = exact_weight_decay(weight_decay)
    if flow not in ("gradient", "momentum"):
        raise InvalidArgument(f"weight_decay={weight_decay!r}: weight decay is available for flow='gradient' and "
                              f"flow='momentum', not flow={flow!r}")
    chosen = getattr(model, "metric", "euclidean") if metric is None else metric
    if lam and not (isinstance(chosen, str) and chosen == "euclidean"):
        raise InvalidArgument(f"weight_decay={weight_decay!r}: weight decay is available with the euclidean metric "
                              "only; pass metric='euclidean' or weight_decay=0")
    if flow == "momentum" and lam:  # the drift gains −λθ on the existing phase space (s, θ, θ')
        base = check_flow("momentum", options.pop("tau", None), metric, model=model)
        return analyze(model, flow=Flow("momentum", base.tau, base.metric, lam), **options)
    res = analyze(model, flow=flow, metric=metric, **options)
    return decayed_result(res, lam) if lam else res


def _law(h: dict, variables: tuple[str, ...], lam: Fraction) -> Law:
    d = homogeneous_degree(h)
    if d is not None:
        terms = sorted((int(c), tuple(m)) for m, c in h.items())
        terms.sort(key=lambda t: ([v for v, _ in t[1]], [-e for _, e in t[1]]))
        return Law(tuple(terms), variables, d * lam)
    terms = [(int(c), tuple(m)) for m, c in scaled_law(h).items()]
    terms.sort(key=lambda t: ([v for v, _ in t[1]], [-e for _, e in t[1]]))
    return Law(tuple(terms), ("s",) + tuple(variables), 0)


def decayed_result(res: Result, lam: Fraction) -> Result:
    """The weight-decay result of a gradient-flow result ``res`` (``λ > 0``).

    With φ homogeneous the count, the completeness and the laws carry over
    (``H ↦ H(sθ)`` is a bijection of the laws); otherwise only the upper bound
    ``D − r`` does, and no law is listed.
    """
    model = res.model
    homogeneous = model.homogeneous()
    kept = list(enumerate(_poly_of(law) for law in res.laws))
    if not homogeneous and kept:  # H(sθ) is a law iff each homogeneous component of H is one
        fields = explicit_fields(model)
        kept = [(j, h) for j, h in kept if components_conserved(h, fields, model.dim)]
    polys = [h for _, h in kept]
    cert = dict(res.certificate)
    cert["weight_decay"] = decay_section(lam, kept, dim=res.dim, rank=res.rank, homogeneous=homogeneous)
    rate = "t" if lam == 1 else f"{lam}*t"
    notes = list(res.notes) + [f"s = exp({rate}) (weight decay λ = {lam}); a law exp(k*t)*H(θ) says H(θ(t)) decays as exp(-k*t)"]
    laws = [_law(h, model.variables, lam) for h in polys]
    frobenius, nonpoly = res.frobenius, list(res.nonpolynomial_laws)
    if nonpoly:
        notes.append(f"{len(nonpoly)} non-polynomial law(s) of gradient flow are not carried over to weight decay")
        nonpoly = []
    if not homogeneous:
        frobenius = False
        notes.append(f"φ is not homogeneous: {len(polys)} of the {len(res.laws)} gradient-flow laws H have every homogeneous "
                     "component conserved, so H(sθ) is a law; the upper bound is that of gradient flow")
    cert["bounds"] = dict(cert["bounds"])  # the gradient-flow claims stay what the checker re-derives
    flow = Flow("gradient", None, res.flow.metric, lam)
    return replace(res, flow=flow, dim=res.dim + 1, rank=res.rank + 1, laws=laws, certificate=cert, notes=notes,
                   frobenius=frobenius and homogeneous, nonpolynomial_laws=nonpoly)


def _poly_of(law: Law) -> dict:
    return {mono: c for c, mono in law.terms}
