"""Step ``weight_decay`` of the checker: a gradient-flow certificate carried over to ``θ' = −∇L − λθ``.

The certificate's ``weight_decay`` object (``docs/certificate-format.md``,
"Weight decay") rides on a gradient-flow certificate, which is checked first
exactly as without it. Then, on the phase space ``(s = e^{λt}, θ)`` with drift
``χ_0 = λ(s ∂_s − θ·∂_θ)`` and generators ``(0, ∇φ_i)``:

* ``dim = D + 1`` and ``rank = r + 1``: lifting is a Lie-algebra morphism, so the
  lifted words keep their rank ``r`` (their ``s``-component is 0), and ``χ_0`` at
  ``(1, θ*)`` has ``s``-component ``λ ≠ 0``; hence ``#laws ≤ D − r``;
* ``homogeneous`` is re-derived from φ (a network's structure, or its
  coordinates); when true, ``h(s, θ) = H(sθ)`` is a law for every law ``H`` of
  gradient flow (``χ_0 h = 0`` by Euler's identity on ``sθ``, and
  ``⟨∇_θ h, ∇φ_i(θ)⟩ = s^{1−m}⟨∇H, ∇φ_i⟩(sθ) = 0``), so each listed law must be
  exactly ``H_j(sθ)`` for the ``j``-th gradient-flow law and its ``rate`` (the
  decay rate of ``H_j(θ(t))``) must be ``d_j λ``; independence carries over
  (``∂_θ h = s ∇H(sθ)``). A tampered ``lambda`` fails the rates.

Without homogeneity a listed law ``H_j(sθ)`` must have every homogeneous
component of ``H_j`` annihilated by every ``∇φ_i`` (exact identities over Z):
then ``⟨∇_θ H_j(sθ), ∇φ_i(θ)⟩ = Σ_d s^{d−1}⟨∇H_{j,d}, ∇φ_i⟩(θ) = 0``.
This module does not re-check the gradient-flow certificate itself: the caller
passes its checker.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

from ._flows import parse_tau
from ._model import _NetworkModel, network_of, parse_model, path_budget_problem
from ._network import Network
from ._polys import Poly, inner
from ._schema import _bool, _fail, _int, _list, _object, parse_poly

__all__ = ["check_weight_decay"]

_KEYS = ("lambda", "time_variable", "drift", "homogeneous", "dim", "rank", "laws")
_DRIFT = "chi_0 = lambda*(s d/ds - theta.d/dtheta)"


def _lambda(x: Any) -> Fraction:
    try:
        lam = parse_tau(x)
    except ValueError as err:
        raise _fail("weight_decay.lambda: " + str(err).replace("tau", "lambda").replace("damping", "weight decay")) from err
    if lam == 0:
        raise _fail("weight_decay.lambda='0': weight decay 0 is plain gradient flow; drop the weight_decay object")
    return lam


def _homogeneous(model: Any) -> bool:
    """Whether every coordinate of φ is homogeneous (a layered network by its structure)."""
    net = network_of(model)
    if isinstance(model, _NetworkModel) and isinstance(net, Network):
        acts = net.activations
        if not net.bias or all(a != "linear" for a in acts):
            return True
    why = path_budget_problem(model)
    if why:
        raise _fail(f"weight_decay: cannot expand φ to check that it is homogeneous: {why}", "weight_decay")
    return all(len({sum(e for _, e in m) for m in phi.terms}) <= 1 for _, phi in model.coordinates())


def _scaled(h: Poly) -> Poly:
    out = {}
    for mono, c in h.terms.items():
        d = sum(e for _, e in mono)
        out[(((0, d),) if d else ()) + tuple((v + 1, e) for v, e in mono)] = c
    return Poly(out)


def _component_failure(h: Poly, model: Any) -> str | None:
    """Why some homogeneous component ``H_d`` of ``h`` is not annihilated by every ``∇φ_i`` (exact), or ``None``."""
    parts: dict[int, dict] = {}
    for mono, c in h.terms.items():
        parts.setdefault(sum(e for _, e in mono), {})[mono] = c
    grads = model.coordinate_gradients()
    for d, terms in sorted(parts.items()):
        gh = Poly(terms).gradient()
        for desc, _phi, grad in grads:
            if inner(gh, grad):
                return f"its degree-{d} component is not conserved along grad {desc}"
    return None


def check_weight_decay(cert: Mapping[str, Any], check: Callable[..., dict[str, Any]], **options: Any) -> dict[str, Any]:
    """Check a weight-decay certificate: its gradient-flow part with ``check``, then the ``weight_decay`` step."""
    section = cert["weight_decay"]
    where = "weight_decay"
    _object(section, where, _KEYS)
    lam = _lambda(section["lambda"])
    if section["time_variable"] != "s" or section["drift"] != _DRIFT:
        raise _fail(f"{where}: time_variable must be 's' and drift {_DRIFT!r}")
    report = check({k: v for k, v in cert.items() if k != "weight_decay"}, **options)
    if report["flow"] != {"name": "gradient"}:
        raise _fail(f"{where}: weight decay rides on a euclidean gradient-flow certificate, not {report['flow']}", "weight_decay")
    D, r = report["dim"], report["rank"]
    if _int(section["dim"], f"{where}.dim") != D + 1 or _int(section["rank"], f"{where}.rank") != r + 1:
        raise _fail(f"{where}: dim and rank must be D + 1 = {D + 1} and r + 1 = {r + 1} (χ_0 adds the direction ∂_s)", "weight_decay")
    claimed = _bool(section["homogeneous"], f"{where}.homogeneous")
    model = parse_model(cert["model"], D)
    homogeneous = _homogeneous(model)
    if claimed != homogeneous:
        raise _fail(f"{where}.homogeneous={str(claimed).lower()} but φ is{'' if homogeneous else ' not'} homogeneous", "weight_decay")
    laws = _list(section["laws"], f"{where}.laws")
    base = [parse_poly(h, f"laws[{j}]", D) for j, h in enumerate(cert["laws"])]
    if homogeneous and len(laws) != len(base):
        raise _fail(f"{where}.laws: {len(laws)} laws for the {len(base)} laws of gradient flow; list H(sθ) for each", "weight_decay")
    previous = -1
    for i, item in enumerate(laws):
        w = f"{where}.laws[{i}]"
        _object(item, w, ("law", "polynomial", "rate"))
        j = _int(item["law"], f"{w}.law", lo=previous + 1, hi=len(base) - 1)  # increasing: a subset of the laws
        if homogeneous and j != i:
            raise _fail(f"{w}.law={j}: with φ homogeneous the laws are listed in order, one per gradient-flow law", "weight_decay")
        previous = j
        h = parse_poly(item["polynomial"], f"{w}.polynomial", D + 1)
        if h != _scaled(base[j]):
            raise _fail(f"{w}.polynomial is not H(s*theta) for laws[{j}] (each term of degree d times s^d)", "weight_decay")
        if not homogeneous:
            why = _component_failure(base[j], model)
            if why:
                raise _fail(f"{w}: φ is not homogeneous and {why}, so H(s*theta) is not a law", "weight_decay")
        degrees = {sum(e for _, e in m) for m in base[j].terms}
        want = str(degrees.pop() * lam) if len(degrees) == 1 else None
        if item["rate"] != want:
            raise _fail(f"{w}.rate={item['rate']!r} but laws[{j}] has degree {want and Fraction(want) / lam} and lambda={lam}: "
                        f"the rate is {want!r}", "weight_decay")
    upper = report["proved"]["upper_bound"]
    lower = upper if (report["frobenius"] and homogeneous) else len(laws)
    report = dict(report)
    report["steps"] = [*report["steps"], {"step": "weight_decay", "detail": (
        f"lambda={lam}: dim {D + 1}, rank {r + 1}, {len(laws)} laws H(s*theta) with their rates; "
        f"{lower} <= count <= {upper}")}]
    report.update(dim=D + 1, rank=r + 1, laws=len(laws), complete=lower == upper, weight_decay=str(lam),
                  proved={"upper_bound": upper, "lower_bound": lower, "exact": lower == upper},
                  flow={"name": "gradient", "weight_decay": str(lam)})
    return report
