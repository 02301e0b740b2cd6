"""A small, eval-free parser of polynomial strings with exact coefficients.

Grammar: sums and differences of products of factors; a factor is an integer,
a decimal-free rational ``3/4`` (as ``3 / 4``), a variable name or a
parenthesised expression, optionally raised to a non-negative integer power
with ``^`` or ``**``. Variable names are matched longest first, so names such
as ``W1[0,2]`` or ``model.0.weight[3,1]`` work. Floats are refused.

Polynomials are dicts ``{exponent tuple: Fraction}``.

Limits, each checked *before* the work it bounds (a string beyond one raises
:class:`~flowlaws.errors.BudgetExceeded` naming the limit and its keyword):

* ``max_length`` (:data:`MAX_LENGTH` characters) of the text;
* ``max_depth`` (:data:`MAX_DEPTH`): nesting of parentheses and unary signs;
* ``max_degree`` (:data:`MAX_DEGREE`): every exponent, and the total degree of
  every product and power;
* ``max_terms`` (:data:`MAX_TERMS`): the term-by-term products one product
  or power computes, bounded before it (``len(a) * len(b)``; for ``b^e`` with
  ``t`` terms, ``t * C(t + e - 1, e - 1)``, the sizes of the partial powers),
  which also bounds the terms of every result; all of them together are at
  most ``10 * max_terms`` per string;
* coefficients of at most :data:`MAX_DIGITS` digits.

So a string within the limits is parsed in time polynomial in its length and
the limits. :func:`flowlaws.models.from_polynomials` takes the same keywords.

Examples
--------
>>> parse_polynomial("2*x^2 - x*y + 1/2", ["x", "y"])
{(2, 0): Fraction(2, 1), (1, 1): Fraction(-1, 1), (0, 0): Fraction(1, 2)}
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Sequence

import math

from .errors import BudgetExceeded, DomainError, InvalidArgument

__all__ = ["parse_polynomial", "check_variable_names", "is_variable_name", "MAX_LENGTH", "MAX_DEPTH", "MAX_DEGREE", "MAX_TERMS", "MAX_DIGITS"]

#: Characters of one polynomial string.
MAX_LENGTH = 100_000
#: Nesting of parentheses and unary signs.
MAX_DEPTH = 100
#: Any exponent, and the total degree of any intermediate polynomial.
MAX_DEGREE = 10_000
#: Terms of any intermediate polynomial (checked before computing it).
MAX_TERMS = 100_000
#: Digits of an integer literal.
MAX_DIGITS = 4_000

Poly = dict[tuple[int, ...], Fraction]

# A variable name: dot-separated segments, each an identifier or a run of ASCII digits, at
# least one an identifier (so '1' or '1.5' is a number, not a name); then an optional index
# [a,b,...] of identifiers or integers. This accepts every name the library generates:
# mlp 'W1[0,2]', 'b1[0]'; torch '0.weight[3,0]', 'layer1.0.conv1.weight[3,1,0,2]';
# factorizations 'U[0,1]'; graphs 'w[x0,h1_0]' (default edge names) and 'k0[1]'.
_SEG = r"(?:[A-Za-z_][A-Za-z0-9_]*|[0-9]+)"
_IDX = r"(?:[A-Za-z0-9_.]+)"
_NAME = re.compile(rf"{_SEG}(?:\.{_SEG})*(?:\[{_IDX}(?:,{_IDX})*\])?'?", re.ASCII)
_IDENT = re.compile(r"[A-Za-z_]", re.ASCII)


def is_variable_name(name: object, *, velocity: bool = False) -> bool:
    """Whether ``name`` is a variable name of the grammar above (a trailing ``'`` only with ``velocity``).

    Examples
    --------
    >>> [is_variable_name(n) for n in ("x0", "W1[0,2]", "0.weight[3,0]", "w[x0,h1_0]")]
    [True, True, True, True]
    >>> [is_variable_name(n) for n in ("1", "x*y", "y[0", "x'", "३")]
    [False, False, False, False, False]
    """
    if not isinstance(name, str) or _NAME.fullmatch(name) is None:
        return False
    if name.endswith("'") and not velocity:
        return False
    head = name.split("[", 1)[0].rstrip("'")
    return any(_IDENT.match(seg) for seg in head.split("."))


def check_variable_names(names: Sequence[object], where: str = "variables", *, velocity: bool = False) -> None:
    """Raise :class:`InvalidArgument` at the first name outside the grammar (see :func:`is_variable_name`)."""
    for i, name in enumerate(names):
        if not isinstance(name, str):
            raise InvalidArgument(f"{where}[{i}]={name!r} (type={type(name).__name__}): expected a str name such as 'x0'")
        if not is_variable_name(name, velocity=velocity):
            raise InvalidArgument(
                f"{where}[{i}]={name[:60]!r} is not a variable name: use an identifier (ASCII letters, digits, "
                "'_', dotted segments), optionally indexed, e.g. 'x0', 'W1[0,2]', 'layer1.0.weight[3,1]'"
            )


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
    #: where the limits can be raised, for the messages (callers may override)
    limits_hint = "raise it with flowlaws.models.from_polynomials(..., {key}=...)"

    def __init__(
        self,
        text: str,
        names: Sequence[str],
        *,
        max_depth: int = MAX_DEPTH,
        max_degree: int = MAX_DEGREE,
        max_terms: int = MAX_TERMS,
    ) -> None:
        self.text = text
        self.names = sorted(names, key=len, reverse=True)
        self.index = {n: i for i, n in enumerate(names)}
        self.n = len(names)
        self.pos = 0
        self.depth = 0
        self.max_depth = max_depth
        self.max_degree = max_degree
        self.max_terms = max_terms
        self.work = 0

    def budget(self, what: str, key: str, limit: int) -> BudgetExceeded:
        shown = self.text if len(self.text) <= 60 else self.text[:57] + "..."
        return BudgetExceeded(
            f"{what} in {shown!r} exceeds {key}={limit} (a limit of polynomial strings); "
            + self.limits_hint.format(key=key)
        )

    def measure(self, a: object) -> tuple[int, int] | None:
        """``(terms, total degree)`` of a ring value, ``None`` when unknown (no limit checked)."""
        if isinstance(a, dict):
            return len(a), max((sum(m) for m in a), default=0)
        if isinstance(a, tuple) and all(hasattr(x, "total_degree") and hasattr(x, "__len__") for x in a):
            return max(len(x) for x in a), max(int(x.total_degree()) if len(x) else 0 for x in a)
        return None

    def check_product(self, a: object, b: object) -> None:
        ma, mb = self.measure(a), self.measure(b)
        if ma is None or mb is None:
            return
        if ma[1] + mb[1] > self.max_degree:
            raise self.budget(f"a product of degree {ma[1] + mb[1]}", "max_degree", self.max_degree)
        if ma[0] * mb[0] > self.max_terms:
            raise self.budget(f"a product of {ma[0]} by {mb[0]} terms", "max_terms", self.max_terms)
        self.spend(ma[0] * mb[0])

    def spend(self, work: int) -> None:
        self.work += work
        if self.work > 10 * self.max_terms:
            raise self.budget(f"{self.work} term products in all (more than 10 x max_terms)",
                              "max_terms", self.max_terms)

    def check_power(self, base: object, e: int) -> None:
        if e > self.max_degree:
            raise self.budget(f"the exponent {e}", "max_degree", self.max_degree)
        mb = self.measure(base)
        if mb is None:
            return
        t, d = mb
        if d * e > self.max_degree:
            raise self.budget(f"a power of degree {d * e}", "max_degree", self.max_degree)
        work = t * math.comb(t + e - 1, e - 1) if e > 0 else 0  # sum of the partial powers' sizes, times t
        if work > self.max_terms:
            raise self.budget(
                f"a power of {t} terms to the {e} ({work} term products, up to "
                f"{math.comb(t + e - 1, e)} terms)", "max_terms", self.max_terms,
            )
        self.spend(work)

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
                right = self.power()
                self.check_product(acc, right)
                acc = self.mul(acc, right)
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
            m = re.match(r"[0-9]+", self.text[self.pos :])
            if not m:
                raise self.error("an exponent must be a non-negative integer")
            digits = m.group().lstrip("0") or "0"
            if len(digits) > len(str(self.max_degree)):
                raise self.budget(f"the exponent {digits[:20]}{'...' if len(digits) > 20 else ''}",
                                  "max_degree", self.max_degree)
            e = int(digits)
            self.check_power(base, e)
            self.pos += m.end()
            out = self.one()
            for _ in range(e):
                out = self.mul(out, base)
            return out
        return base

    def nest(self) -> None:
        self.depth += 1
        if self.depth > self.max_depth:
            raise self.budget(f"nesting at position {self.pos}",
                              "max_depth", self.max_depth)

    def factor(self) -> Poly:
        self.skip()
        if self.peek("("):
            self.pos += 1
            self.nest()
            inner = self.expr()
            if not self.peek(")"):
                raise self.error("missing ')'")
            self.pos += 1
            self.depth -= 1
            return inner
        if self.peek("-"):
            self.pos += 1
            self.nest()
            out = self.neg(self.factor())
            self.depth -= 1
            return out
        rest = self.text[self.pos :]
        for name in self.names:
            if rest.startswith(name):
                self.pos += len(name)
                mono = [0] * self.n
                mono[self.index[name]] = 1
                return self.atom({tuple(mono): Fraction(1)})
        m = re.match(r"[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?", rest)
        if m:
            if m.group(1) is not None or m.group(2) is not None:
                raise DomainError(
                    f"{m.group()[:40]!r} in {self.text[:60]!r} is a float; exact values are needed: "
                    "write a rational such as 1/10 instead of 0.1"
                )
            if m.end() > MAX_DIGITS:
                raise InvalidArgument(
                    f"an integer of {m.end()} digits at position {self.pos}: at most {MAX_DIGITS} digits "
                    "per literal; write large coefficients as products"
                )
            self.pos += m.end()
            v = Fraction(int(m.group()))
            return self.atom({(0,) * self.n: v} if v else {})
        if re.match(r"(nan|inf)", rest, re.I):
            raise DomainError(f"{self.text!r} contains a non-finite value; exact values are needed")
        raise self.error("unknown symbol")


def check_length(parser: _Parser, max_length: int) -> None:
    """Refuse a text longer than ``max_length`` before parsing it."""
    if len(parser.text) > max_length:
        raise parser.budget(f"a string of {len(parser.text)} characters", "max_length", max_length)


def run(parser: _Parser) -> object:
    """Parse the whole text with ``parser``; a deep recursion becomes a one-line error."""
    try:
        value = parser.expr()
    except RecursionError:
        raise BudgetExceeded(
            f"{parser.text[:40]!r}... nests deeper than Python's recursion limit allows "
            f"(max_depth={parser.max_depth}); keep max_depth at most about {2 * MAX_DEPTH}"
        ) from None
    parser.skip()
    if parser.pos != len(parser.text):
        raise parser.error("unexpected text")
    return value


def parse_polynomial(
    text: str,
    names: Sequence[str],
    *,
    max_length: int = MAX_LENGTH,
    max_depth: int = MAX_DEPTH,
    max_degree: int = MAX_DEGREE,
    max_terms: int = MAX_TERMS,
    limits_hint: str | None = None,
) -> Poly:
    """Parse ``text`` as a polynomial in ``names`` with rational coefficients.

    Parameters
    ----------
    text : str
    names : sequence of str
    max_length, max_depth, max_degree, max_terms : int
        The limits of the module docstring, checked before the work.
    limits_hint : str, optional
        How a caller's user raises a limit (``{key}`` is the limit's name), for the messages.

    Raises
    ------
    InvalidArgument
        Unknown symbol or malformed expression.
    DomainError
        A float, NaN or infinity in the text.
    BudgetExceeded
        A limit is exceeded (the message names it).

    Examples
    --------
    >>> parse_polynomial("(x + y)^2", ["x", "y"])[(1, 1)]
    Fraction(2, 1)
    >>> parse_polynomial("x^1000000000", ["x"])
    Traceback (most recent call last):
    ...
    flowlaws.errors.BudgetExceeded: the exponent 1000000000 in 'x^1000000000' exceeds max_degree=10000 (a limit of polynomial strings); raise it with flowlaws.models.from_polynomials(..., max_degree=...)
    """
    if not isinstance(text, str):
        raise InvalidArgument(f"text={text!r} (type={type(text).__name__}): expected a string")
    parser = _Parser(text, names, max_depth=max_depth, max_degree=max_degree, max_terms=max_terms)
    if limits_hint is not None:
        parser.limits_hint = limits_hint
    check_length(parser, max_length)
    return run(parser)  # type: ignore[return-value]
