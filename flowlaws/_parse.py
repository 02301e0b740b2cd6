"""A small, eval-free parser of polynomial strings with exact coefficients.

Grammar: sums and differences of products of factors; a factor is an integer,
a decimal-free rational ``3/4`` (as ``3 / 4``), a variable name or a
parenthesised expression, optionally raised to a non-negative integer power
with ``^`` or ``**``. Variable names are matched longest first, so names such
as ``W1[0,2]`` or ``model.0.weight[3,1]`` work. Floats are refused.

Polynomials are dicts ``{exponent tuple: Fraction}``.

Examples
--------
>>> parse_polynomial("2*x^2 - x*y + 1/2", ["x", "y"])
{(2, 0): Fraction(2, 1), (1, 1): Fraction(-1, 1), (0, 0): Fraction(1, 2)}
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Sequence

from .errors import DomainError, InvalidArgument

__all__ = ["parse_polynomial"]

Poly = dict[tuple[int, ...], Fraction]


def _add(a: Poly, b: Poly, sign: int = 1) -> Poly:
    out = dict(a)
    for m, c in b.items():
        v = out.get(m, 0) + sign * c
        if v:
            out[m] = v
        else:
            out.pop(m, None)
    return out


def _mul(a: Poly, b: Poly) -> Poly:
    out: Poly = {}
    for ma, ca in a.items():
        for mb, cb in b.items():
            m = tuple(x + y for x, y in zip(ma, mb))
            v = out.get(m, 0) + ca * cb
            if v:
                out[m] = v
            else:
                out.pop(m, None)
    return out


class _Parser:
    def __init__(self, text: str, names: Sequence[str]) -> None:
        self.text = text
        self.names = sorted(names, key=len, reverse=True)
        self.index = {n: i for i, n in enumerate(names)}
        self.n = len(names)
        self.pos = 0

    def error(self, what: str) -> InvalidArgument:
        return InvalidArgument(
            f"cannot parse {self.text!r} at position {self.pos}: {what}; "
            f"use integers, rationals like 1/2, the variables {list(self.index)[:6]}"
            f"{'…' if self.n > 6 else ''}, + - * ^ and parentheses"
        )

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self, s: str) -> bool:
        self.skip()
        return self.text.startswith(s, self.pos)

    # -- the ring the grammar computes in (rational polynomials; subclasses may change it) --
    def zero(self) -> Poly:
        return {}

    def one(self) -> Poly:
        return {(0,) * self.n: Fraction(1)}

    def atom(self, poly: Poly) -> Poly:
        """A variable or a number, as a value of the ring."""
        return poly

    def add(self, a: Poly, b: Poly, sign: int = 1) -> Poly:
        return _add(a, b, sign)

    def mul(self, a: Poly, b: Poly) -> Poly:
        return _mul(a, b)

    def div(self, a: Poly, b: Poly) -> Poly:
        if len(b) != 1 or any(any(m) for m in b):
            raise self.error("only division by a non-zero number is allowed")
        c = next(iter(b.values()))
        return {m: v / c for m, v in a.items()}

    def neg(self, a: Poly) -> Poly:
        return {m: -c for m, c in a.items()}

    # -- the grammar ---------------------------------------------------------------------
    def expr(self) -> Poly:
        self.skip()
        sign = 1
        if self.peek("-"):
            self.pos += 1
            sign = -1
        elif self.peek("+"):
            self.pos += 1
        acc = self.add(self.zero(), self.term(), sign)
        while True:
            if self.peek("+"):
                self.pos += 1
                acc = self.add(acc, self.term())
            elif self.peek("-"):
                self.pos += 1
                acc = self.add(acc, self.term(), -1)
            else:
                return acc

    def term(self) -> Poly:
        acc = self.power()
        while True:
            if self.peek("**"):
                raise self.error("unexpected '**'")
            if self.peek("*"):
                self.pos += 1
                acc = self.mul(acc, self.power())
            elif self.peek("/"):
                self.pos += 1
                acc = self.div(acc, self.power())
            else:
                return acc

    def power(self) -> Poly:
        base = self.factor()
        if self.peek("**") or self.peek("^"):
            self.pos += 2 if self.peek("**") else 1
            self.skip()
            m = re.match(r"\d+", self.text[self.pos :])
            if not m:
                raise self.error("an exponent must be a non-negative integer")
            self.pos += m.end()
            out = self.one()
            for _ in range(int(m.group())):
                out = self.mul(out, base)
            return out
        return base

    def factor(self) -> Poly:
        self.skip()
        if self.peek("("):
            self.pos += 1
            inner = self.expr()
            if not self.peek(")"):
                raise self.error("missing ')'")
            self.pos += 1
            return inner
        if self.peek("-"):
            self.pos += 1
            return self.neg(self.factor())
        rest = self.text[self.pos :]
        for name in self.names:
            if rest.startswith(name):
                self.pos += len(name)
                mono = [0] * self.n
                mono[self.index[name]] = 1
                return self.atom({tuple(mono): Fraction(1)})
        m = re.match(r"\d+(\.\d*)?([eE][-+]?\d+)?", rest)
        if m:
            if m.group(1) is not None or m.group(2) is not None:
                raise DomainError(
                    f"{m.group()!r} in {self.text!r} is a float; exact values are needed: "
                    "write a rational such as 1/10 instead of 0.1"
                )
            self.pos += m.end()
            v = Fraction(int(m.group()))
            return self.atom({(0,) * self.n: v} if v else {})
        if re.match(r"(nan|inf)", rest, re.I):
            raise DomainError(f"{self.text!r} contains a non-finite value; exact values are needed")
        raise self.error("unknown symbol")


def parse_polynomial(text: str, names: Sequence[str]) -> Poly:
    """Parse ``text`` as a polynomial in ``names`` with rational coefficients.

    Raises
    ------
    InvalidArgument
        Unknown symbol or malformed expression.
    DomainError
        A float, NaN or infinity in the text.
    """
    if not isinstance(text, str):
        raise InvalidArgument(f"text={text!r} (type={type(text).__name__}): expected a string")
    parser = _Parser(text, names)
    poly = parser.expr()
    parser.skip()
    if parser.pos != len(text):
        raise parser.error("unexpected text")
    return poly
