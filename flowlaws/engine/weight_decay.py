"""Weight decay ``θ' = −∇L(θ) − λθ``: its laws from those of gradient flow, and their certificate.

Phase space ``(s, θ)`` with ``s = e^{λt}`` (dimension ``D + 1``, index 0 is
``s``): the drift is ``χ_0 = λ(s ∂_s − θ·∂_θ)`` and the generators are
``(0, ∇φ_i)``. When every coordinate of φ is homogeneous (path-liftings,
factorizations), ``[χ_0, (0, G)] = λ(1 − m)(0, G)`` for ``G`` homogeneous of
degree ``m``, so the generated Lie algebra is ``span{χ_0} ⊕ lift(Lie(∇φ))`` and
its rank at ``(s, θ)``, ``s ≠ 0``, is ``1 + rank_GF(θ)``: the count is that of
gradient flow. The laws are ``h(s, θ) = H(sθ)`` for the laws ``H`` of gradient
flow (Marcotte, Peyré, Gribonval, ICML 2025, Thm 2.1); a law homogeneous of
degree ``d`` is ``e^{dλt} H(θ)``: the undecayed quantity ``H(θ(t))`` decays as
``e^{−dλt}``. Conversely every law ``h`` of the decayed flow is ``H(sθ)``
with ``H = h(1, ·)`` a law of gradient flow (``h`` is constant along ``χ_0``).

This module does not run the analysis: ``analyze`` runs gradient flow and
hands the result here. Without homogeneity the upper bound carries over, and
a law ``H`` does exactly when each of its homogeneous components is a law.

Examples
--------
>>> exact_weight_decay("1/10"), exact_weight_decay(0)
(Fraction(1, 10), Fraction(0, 1))
>>> scaled_law({((0, 2),): 1, ((1, 2),): -1})        # u² − v²  ->  s²u² − s²v²
{((0, 2), (1, 2)): 1, ((0, 2), (2, 2)): -1}
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from ..errors import BudgetExceeded, DomainError, InvalidArgument
from ..verify.checker._flows import tau_size_error
from .certificate import poly_json

__all__ = ["exact_weight_decay", "scaled_law", "homogeneous_degree", "components_conserved", "decay_section"]


def exact_weight_decay(value: Any) -> Fraction:
    """``λ`` as an exact rational ``≥ 0`` (int, Fraction, SymPy Rational or a string such as ``"1/10"``).

    Raises
    ------
    DomainError
        A float (NaN and infinities included) or a value that is not an exact rational.
    InvalidArgument
        A negative value or a bool.

    >>> exact_weight_decay(0.1)
    Traceback (most recent call last):
    ...
    flowlaws.errors.DomainError: weight_decay=0.1 is a float; pass an exact value: an int, Fraction(1, 10) or a string like '1/10'
    """
    if isinstance(value, bool):
        raise InvalidArgument(f"weight_decay={value!r} is a bool; pass an exact rational such as 0, 1 or '1/10'")
    if isinstance(value, float):
        extra = "" if math.isfinite(value) else " and not finite"
        raise DomainError(
            f"weight_decay={value!r} is a float{extra}; pass an exact value: an int, Fraction(1, 10) or a string like '1/10'"
        )
    too_long = tau_size_error(value)
    if too_long:
        raise BudgetExceeded(too_long.replace("tau", "weight_decay").replace("damping", "weight decay"))
    if type(value).__module__.startswith("sympy"):
        import sympy

        if not isinstance(value, sympy.Rational):
            raise DomainError(f"weight_decay={value!r} (type={type(value).__name__}) is not an exact rational; e.g. '1/10'")
        value = Fraction(int(value.p), int(value.q))
    try:
        lam = Fraction(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError, ZeroDivisionError) as err:
        raise DomainError(
            f"weight_decay={value!r} (type={type(value).__name__}) is not an exact rational; e.g. weight_decay='1/10'"
        ) from err
    if lam < 0:
        raise InvalidArgument(f"weight_decay={value!r}: the weight decay λ must be >= 0 (θ' = −∇L − λθ)")
    return lam


def homogeneous_degree(h: dict) -> int | None:
    """The degree of a sparse polynomial ``{((var, exp), ...): c}`` when all its terms share it, else ``None``."""
    degrees = {sum(e for _, e in mono) for mono in h}
    return degrees.pop() if len(degrees) == 1 else None


def scaled_law(h: dict) -> dict:
    """``H(sθ)`` on the phase space ``(s, θ)``: variables shift by one, a term of degree ``d`` gains ``s^d``."""
    out = {}
    for mono, c in h.items():
        d = sum(e for _, e in mono)
        shifted = tuple((v + 1, e) for v, e in mono)
        out[(((0, d),) if d else ()) + shifted] = c
    return out


def components_conserved(h: dict, fields: list[dict], D: int) -> bool:
    """Whether every homogeneous component of ``h`` is a gradient-flow law (exact, python-flint).

    ``H(sθ)`` is a weight-decay law iff ``Σ_d s^{d−1}⟨∇H_d, ∇φ_i⟩(θ) ≡ 0``, i.e. iff each
    component ``H_d`` is annihilated by every generator ``∇φ_i`` (``fields``, as
    :func:`~flowlaws.engine.fields.explicit_fields` gives them).
    """
    from .fields import flint_context

    ctx = flint_context(D)
    parts: dict[int, dict] = {}
    for mono, c in h.items():
        exps = [0] * D
        for v, e in mono:
            exps[v] = e
        parts.setdefault(sum(exps), {})[tuple(exps)] = c
    for part in parts.values():
        P = ctx.from_dict(part)
        for X in fields:
            total = None
            for j, comp in X.items():
                term = P.derivative(j) * comp
                total = term if total is None else total + term
            if total is not None and not total.is_zero():
                return False
    return True


def decay_section(lam: Fraction, laws: list[tuple[int, dict]], *, dim: int, rank: int, homogeneous: bool) -> dict[str, Any]:
    """The certificate's ``weight_decay`` object (``docs/certificate-format.md``, "Weight decay").

    ``laws`` are ``(j, H)``: the ``j``-th gradient-flow law ``H``; the section lists ``H(sθ)``
    and, for a homogeneous ``H`` of degree ``d``, the decay rate ``dλ`` of ``H(θ(t))``.
    """
    return {
        "lambda": str(lam),
        "time_variable": "s",
        "drift": "chi_0 = lambda*(s d/ds - theta.d/dtheta)",
        "homogeneous": homogeneous,
        "dim": dim + 1,
        "rank": rank + 1,
        "laws": [
            {"law": j, "polynomial": poly_json(scaled_law(h)),
             "rate": None if (d := homogeneous_degree(h)) is None else str(d * lam)}
            for j, h in laws
        ],
    }
