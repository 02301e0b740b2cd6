"""What one discrete step does to a conservation law, exactly (issue 19).

Gradient flow keeps a law ``h`` constant; one step of gradient descent
``θ⁺ = θ − η g`` changes it by the exact Taylor expansion

    ``h(θ⁺) − h(θ) = Σ_{k≥1} (−η)^k / k! · D^k h(θ)[g, …, g]``.

For ``g = ∇L`` of any loss of φ the first-order term ``−η⟨∇h, g⟩`` vanishes
(``⟨∇h, ∇φ_i⟩ = 0``), so a quadratic law moves by exactly ``(η²/2)·gᵀ∇²h g``
and a law of degree ``d`` by the terms ``k = 2..d``. :func:`step_drift` computes
every term: exactly (``Fraction``) when ``θ``, ``g`` and ``η`` are exact
(ints, Fractions, strings such as ``"1/3"``), in float64 when any of them is a
float or a NumPy array. Nothing here assumes ``g`` is a gradient: the first-order
term is reported as it is (non-zero when ``g`` is not a loss gradient, or ``h`` not a law).

Examples
--------
>>> import flowlaws as fl
>>> from flowlaws.verify import step_drift
>>> m = fl.models.factorization(1, 1, 1)          # φ = u·v, law u² − v²
>>> s = step_drift("U[0,0]^2 - V[0,0]^2", {"U[0,0]": 2, "V[0,0]": 1}, {"U[0,0]": 1, "V[0,0]": 2}, "1/10",
...                variables=m.variables)         # g = (ℓ'·v, ℓ'·u) with ℓ' = 1
>>> s.first_order, s.second_order, s.exact       # (η²)(g_u² − g_v²) = (1/100)(1 − 4)
(Fraction(0, 1), Fraction(-3, 100), Fraction(-3, 100))
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
        ``−η⟨∇h(θ), g⟩``, ``(η²/2)·gᵀ∇²h(θ) g`` and the terms of order 3 and more;
        they add up to ``exact``.
    terms : tuple
        Every order's term ``c_k·(−η)^k``, ``k = 1..deg h``.
    """

    exact: Any
    first_order: Any
    second_order: Any
    higher: Any
    terms: tuple


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


def step_drift(law: Any, theta: Any, grad: Any, lr: Any, *, variables: Sequence[str] | None = None) -> StepDrift:
    """The exact change of ``law`` over one step ``θ⁺ = θ − lr·grad``, split by order.

    Parameters
    ----------
    law : Law, str, SymPy expression or POLY
        The law (a :class:`~flowlaws.laws.Law` names its own variables).
    theta, grad : mapping name -> value, or sequence in the order of ``variables``
        The parameters before the step and the step's direction (the gradient).
    lr : int, Fraction, str or float
        The step size ``η``.
    variables : sequence of str, optional
        The parameter names (``model.variables``); default: the law's own, for a ``Law``.

    Returns
    -------
    StepDrift
        ``exact`` and its ``first_order``, ``second_order`` and ``higher`` parts:
        ``Fraction`` when every input is exact, ``float`` otherwise.

    Raises
    ------
    InvalidArgument
        Unknown or missing names, wrong lengths, non-numbers.
    DomainError
        NaN or infinite floats.
    """
    if variables is None:
        variables = getattr(law, "variables", None)
        if variables is None:
            raise InvalidArgument("variables=None: pass the parameter names (e.g. variables=model.variables) "
                                  "for a law given as a string or an expression")
    variables = tuple(variables)
    terms, _shown = _law_terms(law, variables)
    exact = all(_exact_input(x) for x in (theta, grad, lr))
    th = _vector(theta, variables, "theta", exact)
    g = _vector(grad, variables, "grad", exact)
    eta = _value(lr, "lr", exact)
    zero = Fraction(0) if exact else 0.0
    degree = max((sum(e for _, e in mono) for mono in terms), default=0)
    coeffs = [zero] * (degree + 1)  # h(θ + t·g) = Σ_k c_k t^k
    for mono, coef in terms.items():
        poly = [Fraction(coef) if exact else float(coef)]
        for var, e in mono:
            a, b = th[var], g[var]
            factor = [math.comb(e, j) * a ** (e - j) * b**j for j in range(e + 1)]  # (a + t b)^e
            out = [zero] * (len(poly) + e)
            for i, x in enumerate(poly):
                if x:
                    for j, y in enumerate(factor):
                        out[i + j] += x * y
            poly = out
        for k, x in enumerate(poly):
            coeffs[k] += x
    orders = tuple(coeffs[k] * (-eta) ** k for k in range(1, degree + 1))
    first = orders[0] if orders else zero
    second = orders[1] if len(orders) > 1 else zero
    higher = sum(orders[2:], zero)
    return StepDrift(exact=sum(orders, zero), first_order=first, second_order=second, higher=higher, terms=orders)
