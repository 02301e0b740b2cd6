"""Exact polynomial conservation laws as plain data.

A :class:`Law` is a polynomial with integer coefficients in a model's
parameters, stored as a tuple of terms ``(coefficient, ((var, exp), ...))``.
It carries the variable names so that it prints in the model's own words.
This module does no algebra beyond printing and conversion: the engine
(:mod:`flowlaws.algebra`) finds laws and the checker (:mod:`flowlaws.verify`)
proves them, each with its own arithmetic.

Examples
--------
>>> law = Law(((1, ((0, 2),)), (-1, ((1, 2),))), ("u", "v"))
>>> str(law)
'u^2 - v^2'
>>> law.degree
2
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Law", "Term"]

Term = tuple[int, tuple[tuple[int, int], ...]]


def _monomial_str(monomial: tuple[tuple[int, int], ...], names: tuple[str, ...]) -> str:
    parts = []
    for var, exp in monomial:
        parts.append(names[var] if exp == 1 else f"{names[var]}^{exp}")
    return "*".join(parts) if parts else "1"


@dataclass(frozen=True)
class Law:
    """A polynomial conservation law with integer coefficients.

    Parameters
    ----------
    terms : tuple of (int, tuple of (int, int))
        ``(coefficient, ((variable index, exponent), ...))`` per term, with
        variable indices increasing inside a monomial.
    variables : tuple of str
        The model's parameter names, indexed by the variable indices.
    time_rate : int or Fraction, optional
        Non-zero for momentum laws on the phase space ``(s, θ, θ')``: variable 0
        is ``s = exp(time_rate * t)``, printed and exported as that exponential.
    """

    terms: tuple[Term, ...]
    variables: tuple[str, ...]
    time_rate: Any = 0

    @property
    def degree(self) -> int:
        """Total degree of the polynomial part."""
        return max((sum(e for _, e in mono) for _, mono in self.terms), default=0)

    @property
    def support(self) -> tuple[int, ...]:
        """Indices of the variables the law depends on, increasing."""
        return tuple(sorted({v for _, mono in self.terms for v, _ in mono}))

    def _time_power(self, mono: tuple[tuple[int, int], ...]) -> tuple[int, tuple[tuple[int, int], ...]]:
        if self.time_rate and mono and mono[0][0] == 0:
            return mono[0][1], mono[1:]
        return 0, mono

    def _exp(self, k: int) -> str:
        rate = self.time_rate * k
        return "exp(t)" if rate == 1 else f"exp({rate}*t)"

    def __str__(self) -> str:
        powers = {self._time_power(mono)[0] for _, mono in self.terms}
        common = powers.pop() if len(powers) == 1 else 0
        out = ""
        for i, (coef, mono) in enumerate(self.terms):
            k, rest = self._time_power(mono)
            if common:
                k = 0
            body = _monomial_str(rest, self.variables) if rest else ""
            if k:
                body = f"{self._exp(k)}*{body}" if body else self._exp(k)
            mag = abs(coef)
            if not body:
                text = str(mag)
            else:
                text = body if mag == 1 else f"{mag}*{body}"
            if i == 0:
                out = ("-" if coef < 0 else "") + text
            else:
                out += (" - " if coef < 0 else " + ") + text
        out = out or "0"
        return f"{self._exp(common)}*({out})" if common else out

    def to_sympy(self, symbols: dict[str, Any] | None = None) -> Any:
        """The law as a SymPy expression (symbols named after the parameters).

        Examples
        --------
        >>> Law(((2, ((0, 1), (1, 1))),), ("a", "b")).to_sympy()
        2*a*b
        """
        import sympy

        syms = [
            (symbols or {}).get(name) or sympy.Symbol(name) for name in self.variables
        ]
        if self.time_rate:
            syms[0] = sympy.exp(sympy.Rational(self.time_rate) * sympy.Symbol("t"))
        expr = sympy.Integer(0)
        for coef, mono in self.terms:
            term = sympy.Integer(coef)
            for var, exp in mono:
                term *= syms[var] ** exp
            expr += term
        return expr

    def to_json(self) -> list[list[Any]]:
        """Terms in the certificate's JSON form ``[["coef", [[var, exp], ...]], ...]``."""
        return [[str(c), [[v, e] for v, e in mono]] for c, mono in self.terms]

    def _repr_latex_(self) -> str:
        import sympy

        return f"${sympy.latex(self.to_sympy())}$"
