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
>>> [law]                      # repr is the readable law, cut with … past REPR_WIDTH characters
[u^2 - v^2]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Law", "Term", "REPR_WIDTH"]

REPR_WIDTH = 120

Term = tuple[int, tuple[tuple[int, int], ...]]


def _monomial_str(monomial: tuple[tuple[int, int], ...], names: tuple[str, ...]) -> str:
    parts = []
    for var, exp in monomial:
        parts.append(names[var] if exp == 1 else f"{names[var]}^{exp}")
    return "*".join(parts) if parts else "1"


@dataclass(frozen=True, repr=False)
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
        A time-dependent law is ``exp(time_rate * t) * p`` with ``p`` the
        polynomial of ``terms``; ``0`` means none. (Momentum laws found on the
        phase space ``(s = e^{τt}, θ, θ')`` factor their power of ``s`` out this way.)
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

    def __str__(self) -> str:
        out = ""
        for i, (coef, mono) in enumerate(self.terms):
            body = _monomial_str(mono, self.variables)
            mag = abs(coef)
            text = body if (mag == 1 and mono) else (f"{mag}*{body}" if mono else str(mag))
            if i == 0:
                out = ("-" if coef < 0 else "") + text
            else:
                out += (" - " if coef < 0 else " + ") + text
        out = out or "0"
        if self.time_rate:
            rate = "t" if self.time_rate == 1 else f"{self.time_rate}*t"
            out = f"exp({rate})*({out})"
        return out

    def __repr__(self) -> str:
        text = str(self)
        return text if len(text) <= REPR_WIDTH else text[: REPR_WIDTH - 1] + "…"

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
        expr = sympy.Integer(0)
        for coef, mono in self.terms:
            term = sympy.Integer(coef)
            for var, exp in mono:
                term *= syms[var] ** exp
            expr += term
        if self.time_rate:
            expr = sympy.exp(sympy.Rational(self.time_rate) * sympy.Symbol("t")) * expr
        return expr

    def to_json(self) -> list[list[Any]]:
        """Terms in the certificate's JSON form ``[["coef", [[var, exp], ...]], ...]``."""
        return [[str(c), [[v, e] for v, e in mono]] for c, mono in self.terms]

    def _repr_latex_(self) -> str:
        import sympy

        return f"${sympy.latex(self.to_sympy())}$"
