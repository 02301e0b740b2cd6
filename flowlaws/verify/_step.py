"""What one discrete step does to a conservation law, exactly (issue 19).

Gradient flow keeps a law ``h`` constant; a discrete step ``θ⁺ = θ + Δ`` changes
it by the exact Taylor expansion along the update

    ``h(θ + Δ) − h(θ) = Σ_{k≥1} D^k h(θ)[Δ, …, Δ] / k!``

(finite: ``h`` is a polynomial). :func:`step_drift` computes every order's term,
for any update ``Δ`` (``update=``) or for the optimizers' own updates:

* gradient descent / SGD, ``Δ = −η g``: for ``g = ∇L`` of any loss of φ (a full
  batch or a minibatch) the first-order term ``−η⟨∇h, g⟩`` vanishes
  (``⟨∇h, ∇φ_i⟩ = 0``), so a quadratic law moves by exactly ``(η²/2)·gᵀ∇²h g``;
* weight decay, ``Δ = −η(g + λθ)``: the first-order term no longer vanishes, it is
  ``−ηλ⟨∇h, θ⟩``, which is ``−2ηλ h(θ)`` for a homogeneous quadratic law (Euler);
* heavy-ball SGD, ``Δ = −η g + β(θ − θ_prev)`` (``torch.optim.SGD`` with
  ``momentum=β``, dampening 0): on the discrete phase space ``(θ, θ_prev)`` the
  first-order term is ``β⟨∇h, θ − θ_prev⟩``, the momentum's, and is not zero.

``StepDrift.parts`` splits the first-order term by the update's components
(``"gradient"``, ``"weight_decay"``, ``"momentum"``), so the part a law kills
(the gradient's) is seen to be zero. Exact (``Fraction``) when every input is
exact (ints, Fractions, strings such as ``"1/3"``), float64 when any of them is a
float or a NumPy array. Nothing here assumes ``g`` is a gradient: every term is
reported as it is.

Examples
--------
>>> import flowlaws as fl
>>> from flowlaws.verify import step_drift
>>> m = fl.models.factorization(1, 1, 1)          # φ = u·v, law u² − v²
>>> th, g = {"U[0,0]": 2, "V[0,0]": 1}, {"U[0,0]": 1, "V[0,0]": 2}   # g = (ℓ'·v, ℓ'·u) with ℓ' = 1
>>> s = step_drift("U[0,0]^2 - V[0,0]^2", g, "1/10", point=th, variables=m.variables)
>>> s.first_order, s.second_order, s.exact       # (η²)(g_u² − g_v²) = (1/100)(1 − 4)
(Fraction(0, 1), Fraction(-3, 100), Fraction(-3, 100))
>>> w = step_drift("U[0,0]^2 - V[0,0]^2", th, g, "1/10", weight_decay="1/2", variables=m.variables)
>>> w.parts["weight_decay"]                       # −2ηλ·h(θ) = −2·(1/10)(1/2)·3
Fraction(-3, 10)
>>> hb = step_drift("U[0,0]^2 - V[0,0]^2", th, g, "1/10", momentum="9/10", previous={"U[0,0]": 1, "V[0,0]": 1},
...                 variables=m.variables)
>>> hb.parts["gradient"], hb.parts["momentum"]   # β⟨∇h, θ − θ_prev⟩ = (9/10)·(2·2·1 − 2·1·0)
(Fraction(0, 1), Fraction(18, 5))
>>> hb.exact == sum(hb.terms)
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ..errors import DomainError, InvalidArgument
from ._drift import _law_terms

__all__ = ["StepDrift", "step_drift"]


@dataclass(frozen=True)
class StepDrift:
    """The change of a law over one step, split by order.

    Attributes
    ----------
    exact : Fraction or float
        ``h(θ − η g) − h(θ)``.
    first_order, second_order, higher : Fraction or float
        ``⟨∇h(θ), Δ⟩``, ``Δᵀ∇²h(θ)Δ / 2`` and the terms of order 3 and more;
        they add up to ``exact``.
    terms : tuple
        Every order's term ``D^k h(θ)[Δ, …, Δ] / k!`` (``c_k·(−η)^k`` for ``Δ = −η g``), ``k = 1..deg h``.
    parts : dict
        The first-order term split by the update's components, ``⟨∇h(θ), Δ_part⟩`` for
        ``"gradient"`` (``−η g``), ``"weight_decay"`` (``−ηλθ``) and ``"momentum"``
        (``β(θ − θ_prev)``) when given; they add up to ``first_order`` (exactly, on exact
        input). Empty for ``update=``.
    """

    exact: Any
    first_order: Any
    second_order: Any
    higher: Any
    terms: tuple
    parts: dict = field(default_factory=dict)


def _exact_input(x: Any) -> bool:
    """Whether ``x`` (a number, a mapping or a sequence of numbers) holds only exact values."""
    if hasattr(x, "dtype"):  # NumPy arrays and scalars: float64 arithmetic
        return False
    if isinstance(x, Mapping):
        values: Any = x.values()
    elif isinstance(x, (list, tuple)):
        values = x
    else:
        values = [x]
    return not any(isinstance(v, float) or hasattr(v, "dtype") for v in values)


def _value(x: Any, where: str, exact: bool) -> Any:
    if isinstance(x, bool):
        raise InvalidArgument(f"{where}={x!r} is a bool; pass a number")
    if exact:
        try:
            return Fraction(x) if not isinstance(x, str) else Fraction(x.strip())
        except (TypeError, ValueError, ZeroDivisionError):
            raise InvalidArgument(f"{where}={x!r} (type={type(x).__name__}): expected an int, a Fraction or a "
                                  "string such as \"1/3\" (or floats everywhere for a float64 result)") from None
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise InvalidArgument(f"{where}={x!r} (type={type(x).__name__}): expected a number") from None
    if not math.isfinite(v):
        raise DomainError(f"{where}={x!r} is not finite")
    return v


def _vector(x: Any, variables: Sequence[str], where: str, exact: bool) -> list[Any]:
    if isinstance(x, Mapping):
        unknown = [k for k in x if k not in set(variables)]
        if unknown:
            raise InvalidArgument(f"{where}: unknown name(s) {unknown[:5]}; the parameters are {list(variables[:5])}...")
        missing = [v for v in variables if v not in x]
        if missing:
            raise InvalidArgument(f"{where}: no value for {missing[:5]}; give every parameter (0 where it is 0)")
        return [_value(x[v], f"{where}[{v!r}]", exact) for v in variables]
    values = list(x.tolist() if hasattr(x, "tolist") else x) if not isinstance(x, (str, bytes)) else None
    if values is None or len(values) != len(variables):
        got = "a string" if values is None else f"{len(values)} values"
        raise InvalidArgument(f"{where}: expected {len(variables)} values (one per parameter, in order) or a "
                              f"mapping name -> value, got {got}")
    return [_value(v, f"{where}[{i}]", exact) for i, v in enumerate(values)]


def _expand(terms: Mapping[Any, Fraction], th: Sequence[Any], d: Sequence[Any], exact: bool) -> list[Any]:
    """Coefficients ``c_0..c_deg`` of ``h(θ + t·d) = Σ_k c_k t^k``."""
    zero = Fraction(0) if exact else 0.0
    degree = max((sum(e for _, e in mono) for mono in terms), default=0)
    coeffs = [zero] * (degree + 1)
    for mono, coef in terms.items():
        poly = [Fraction(coef) if exact else float(coef)]
        for var, e in mono:
            a, b = th[var], d[var]
            factor = [math.comb(e, j) * a ** (e - j) * b**j for j in range(e + 1)]  # (a + t b)^e
            out = [zero] * (len(poly) + e)
            for i, x in enumerate(poly):
                if x:
                    for j, y in enumerate(factor):
                        out[i + j] += x * y
            poly = out
        for k, x in enumerate(poly):
            coeffs[k] += x
    return coeffs


def _directional(terms: Mapping[Any, Fraction], th: Sequence[Any], d: Sequence[Any], exact: bool) -> Any:
    """``⟨∇h(θ), d⟩``."""
    zero = Fraction(0) if exact else 0.0
    out = zero
    for mono, coef in terms.items():
        c = Fraction(coef) if exact else float(coef)
        for i, (var, e) in enumerate(mono):
            if d[var]:
                rest = c * e * th[var] ** (e - 1) * d[var]
                for j, (w, f) in enumerate(mono):
                    if j != i:
                        rest *= th[w] ** f
                out += rest
    return out


def _positional(args: tuple, point: Any, grad: Any, lr: Any) -> tuple[Any, Any, Any]:
    """``(theta, grad, lr)`` from either call form of :func:`step_drift`.

    ``step_drift(law, grad, lr, point=θ)`` (the documented form) or
    ``step_drift(law, θ, grad, lr)``; ``grad``/``lr`` may also come by keyword.
    """
    names = ("grad", "lr") if point is not None else ("theta", "grad", "lr")
    if len(args) > len(names):
        form = "step_drift(law, grad, lr, point=theta)" if point is not None else "step_drift(law, theta, grad, lr)"
        raise InvalidArgument(f"too many positional arguments ({len(args)}): the call is {form}")
    given = dict(zip(names, args))
    for name, value in (("grad", grad), ("lr", lr)):
        if value is not None:
            if name in given:
                raise InvalidArgument(f"{name} given twice (positionally and as {name}=)")
            given[name] = value
    theta = point if point is not None else given.get("theta")
    if theta is None:
        raise InvalidArgument("give the parameters before the step: step_drift(law, grad, lr, point=theta)")
    return theta, given.get("grad"), given.get("lr")


def step_drift(
    law: Any,
    *args: Any,
    point: Any = None,
    grad: Any = None,
    lr: Any = None,
    update: Any = None,
    weight_decay: Any = None,
    momentum: Any = None,
    previous: Any = None,
    variables: Sequence[str] | None = None,
) -> StepDrift:
    """The exact change of ``law`` over one step, split by order (and the first order by cause).

    The step is ``θ⁺ = θ + Δ`` with either ``Δ = update`` or
    ``Δ = −lr·(grad + weight_decay·θ) + momentum·(θ − previous)``.

    Parameters
    ----------
    law : Law, str, SymPy expression or POLY
        The law (a :class:`~flowlaws.laws.Law` names its own variables).
    *args
        ``grad, lr`` with ``point=θ`` (``step_drift(law, grad, lr, point=θ)``), or
        ``θ, grad, lr`` without it (``step_drift(law, θ, grad, lr)``).
    point : mapping name -> value, or sequence in the order of ``variables``
        The parameters ``θ`` before the step.
    grad : same as ``point``, optional
        The gradient (of the loss on the step's minibatch, for SGD).
    lr : int, Fraction, str or float, optional
        The step size ``η`` (with ``grad``).
    update : same as ``point``, optional
        The whole update ``Δ`` instead of ``grad`` and ``lr`` (any optimizer: Adam's
        step, the parameter change read from a training run, a phase-space update).
    weight_decay : number, optional
        ``λ`` of the coupled decay ``−lr·λ·θ`` (``torch.optim.SGD(weight_decay=λ)``).
    momentum, previous : number and vector, optional
        Heavy ball: ``β`` and ``θ_prev``, adding ``β(θ − θ_prev)`` to the update.
    variables : sequence of str, optional
        The parameter names (``model.variables``); default: the law's own, for a ``Law``.

    Returns
    -------
    StepDrift
        ``exact`` and its ``first_order``, ``second_order`` and ``higher`` parts and the
        first order's ``parts``: ``Fraction`` when every input is exact, ``float`` otherwise.

    Raises
    ------
    InvalidArgument
        Unknown or missing names, wrong lengths, non-numbers; ``update`` together with
        ``grad``/``lr``, or neither; ``momentum`` without ``previous`` or the reverse.
    DomainError
        NaN or infinite floats.
    """
    theta, grad, lr = _positional(args, point, grad, lr)
    if variables is None:
        variables = getattr(law, "variables", None)
        if variables is None:
            raise InvalidArgument("variables=None: pass the parameter names (e.g. variables=model.variables) "
                                  "for a law given as a string or an expression")
    variables = tuple(variables)
    terms, _shown = _law_terms(law, variables)
    if update is not None:
        given = [k for k, v in (("grad", grad), ("lr", lr), ("weight_decay", weight_decay), ("momentum", momentum),
                                ("previous", previous)) if v is not None]
        if given:
            raise InvalidArgument(f"update= is the whole step: drop {', '.join(given)}= (or drop update= and give "
                                  "grad= and lr=)")
    elif grad is None or lr is None:
        raise InvalidArgument("give grad= and lr= (the step -lr*grad) or update= (the whole step)")
    if (momentum is None) != (previous is None):
        raise InvalidArgument("heavy ball needs both momentum=beta and previous=theta_prev (the parameters one step "
                              "before theta)")
    inputs = [x for x in (theta, grad, lr, update, weight_decay, momentum, previous) if x is not None]
    exact = all(_exact_input(x) for x in inputs)
    th = _vector(theta, variables, "theta", exact)
    zero = Fraction(0) if exact else 0.0
    parts: dict[str, Any] = {}
    if update is not None:
        delta = _vector(update, variables, "update", exact)
    else:
        eta = _value(lr, "lr", exact)
        g = _vector(grad, variables, "grad", exact)
        delta = [-eta * x for x in g]
        parts["gradient"] = _directional(terms, th, delta, exact)
        if weight_decay is not None:
            lam = _value(weight_decay, "weight_decay", exact)
            decay = [-eta * lam * x for x in th]
            parts["weight_decay"] = _directional(terms, th, decay, exact)
            delta = [a + b for a, b in zip(delta, decay)]
        if momentum is not None:
            beta = _value(momentum, "momentum", exact)
            prev = _vector(previous, variables, "previous", exact)
            push = [beta * (a - b) for a, b in zip(th, prev)]
            parts["momentum"] = _directional(terms, th, push, exact)
            delta = [a + b for a, b in zip(delta, push)]
    coeffs = _expand(terms, th, delta, exact)
    orders = tuple(coeffs[1:])
    first = orders[0] if orders else zero
    second = orders[1] if len(orders) > 1 else zero
    higher = sum(orders[2:], zero)
    return StepDrift(exact=sum(orders, zero), first_order=first, second_order=second, higher=higher, terms=orders,
                     parts=parts)
