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

__all__ = ["Law", "LogLaw", "Term", "REPR_WIDTH"]

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


@dataclass(frozen=True, repr=False)
class LogLaw:
    """A conservation law ``P0 + Σ_i c_i·log p_i`` with polynomials ``P0``, ``p_i`` and integers ``c_i``.

    When ``P0 = 0`` it is (the logarithm of) the rational law ``Π p_i^{c_i}`` and prints
    that way. Found from Darboux polynomials, and proved by the certificate's
    ``log_laws`` identities (``docs/certificate-format.md``).

    Examples
    --------
    >>> u = Law(((1, ((0, 1),)),), ("u", "v"))
    >>> v = Law(((1, ((1, 1),)),), ("u", "v"))
    >>> str(LogLaw(Law((), ("u", "v")), ((1, u), (-1, v))))
    'u/v'
    >>> str(LogLaw(Law(((-2, ((0, 1),)),), ("u", "v")), ((1, v),)))
    'log(v) - 2*u'
    """

    polynomial: Law
    logs: tuple[tuple[int, Law], ...]

    @property
    def is_rational(self) -> bool:
        """True when the law is the rational function ``Π p_i^{c_i}`` (no polynomial part)."""
        return not self.polynomial.terms

    def __str__(self) -> str:
        def factor(p: Law, e: int) -> str:
            text = str(p)
            text = text if len(p.terms) == 1 else f"({text})"
            return text if e == 1 else f"{text}^{e}"

        if self.is_rational:
            num = "*".join(factor(p, c) for c, p in self.logs if c > 0) or "1"
            den = "*".join(factor(p, -c) for c, p in self.logs if c < 0)
            if not den:
                return num
            return f"{num}/{den}" if sum(1 for c, _ in self.logs if c < 0) == 1 else f"{num}/({den})"
        parts = []
        for c, p in self.logs:
            log = f"log({p})"
            parts.append((c, log if abs(c) == 1 else f"{abs(c)}*{log}"))
        out = ""
        for i, (c, text) in enumerate(parts):
            out += (("-" if c < 0 else "") + text) if i == 0 else ((" - " if c < 0 else " + ") + text)
        poly = str(self.polynomial)
        return out + (" - " + poly[1:] if poly.startswith("-") else " + " + poly)

    def __repr__(self) -> str:
        text = str(self)
        return text if len(text) <= REPR_WIDTH else text[: REPR_WIDTH - 1] + "…"

    def to_sympy(self) -> Any:
        """The law as a SymPy expression: the rational function, or ``P0 + Σ c log p``."""
        import sympy

        if self.is_rational:
            return sympy.Mul(*(p.to_sympy() ** c for c, p in self.logs))
        return self.polynomial.to_sympy() + sympy.Add(*(c * sympy.log(p.to_sympy()) for c, p in self.logs))
