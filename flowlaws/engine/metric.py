"""User metrics ``M(θ) = P(θ)/q(θ)`` for mirror / Riemannian flows ``θ' = −M(θ)∇L``.

:func:`metric_matrix` validates a user's matrix (lists, SymPy, sparse dict;
entries are ints, Fractions, eval-free strings or SymPy expressions) and puts
it over a common denominator ``q``; the flow's generators are then
``P∇φ_i = q·M∇φ_i``, which span the same distribution wherever ``q ≠ 0``.

What this module does not check: that ``M`` is invertible or positive
definite (only identically zero rows are refused).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from .._parse import _Parser
from ..errors import DomainError, InvalidArgument
from ..models._model import poly_json

__all__ = ["MatrixMetric", "metric_matrix"]

_Terms = tuple[tuple[tuple[int, ...], int], ...]  # integer polynomial: ((exponents, coefficient), ...)


@dataclass(frozen=True)
class MatrixMetric:
    """A user metric ``M(θ) = P(θ) / q(θ)``: ``P`` a ``size×size`` matrix of integer
    polynomials (sparse ``entries`` ``(i, j, terms)``), ``q`` their common ``denominator``.

    Build it with :func:`metric_matrix`. The flow's generator fields are
    ``P∇φ_i = q·M∇φ_i``: multiplying a field by ``q`` does not change the
    distribution where ``q ≠ 0``, so the counts and laws are those of ``M∇φ_i``
    on ``{q ≠ 0}``.
    """

    size: int
    entries: tuple[tuple[int, int, _Terms], ...]
    denominator: _Terms

    def __str__(self) -> str:
        return "custom"

    def to_json(self) -> dict[str, Any]:
        """The certificate's ``flow.metric`` object (``docs/certificate-format.md``, "Other flows")."""
        return {
            "kind": "matrix",
            "size": self.size,
            "denominator": poly_json(dict(self.denominator)),
            "entries": [[i, j, poly_json(dict(t))] for i, j, t in self.entries],
        }

    def numerators(self, ctx: Any, offset: int = 0) -> dict[tuple[int, int], Any]:
        """``{(i, j): P_ij}`` as polynomials of ``ctx`` (parameter ``k`` is variable ``offset + k``)."""
        n = ctx.nvars()
        out = {}
        for i, j, terms in self.entries:
            out[(i, j)] = ctx.from_dict({(0,) * offset + m + (0,) * (n - offset - self.size): c for m, c in terms})
        return out

    def denominator_at(self, point: Any, p: int) -> int:
        """``q(point) mod p`` (``point``: the parameters' values)."""
        total = 0
        for m, c in self.denominator:
            v = c
            for x, e in zip(point, m):
                if e:
                    v = v * pow(int(x), e, p) % p
            total += v
        return total % p


class _RationalParser(_Parser):
    """:mod:`flowlaws._parse`'s grammar computing in pairs ``(num, den)`` of ``fmpq_mpoly``:
    ``/`` may divide by any non-zero expression."""

    limits_hint = "metric entries are read within it; simplify the entry"

    def __init__(self, text: str, names: Sequence[str], ctx: Any) -> None:
        super().__init__(text, names)
        self.ctx = ctx

    def _const(self, c: int) -> Any:
        return self.ctx.from_dict({(0,) * self.n: c} if c else {})

    def zero(self) -> Any:
        return self._const(0), self._const(1)

    def one(self) -> Any:
        return self._const(1), self._const(1)

    def atom(self, poly: Any) -> Any:
        return self.ctx.from_dict({m: _fmpq(c) for m, c in poly.items()}), self._const(1)

    def add(self, a: Any, b: Any, sign: int = 1) -> Any:
        return a[0] * b[1] + sign * b[0] * a[1], a[1] * b[1]

    def mul(self, a: Any, b: Any) -> Any:
        return a[0] * b[0], a[1] * b[1]

    def div(self, a: Any, b: Any) -> Any:
        if b[0].is_zero():
            raise self.error("division by zero")
        return a[0] * b[1], a[1] * b[0]

    def neg(self, a: Any) -> Any:
        return -a[0], a[1]


def _fmpq(c: Fraction) -> Any:
    import flint

    return flint.fmpq(c.numerator, c.denominator)


def _metric_entry(entry: Any, variables: Sequence[str], ctx: Any, where: str) -> tuple[Any, Any]:
    """One entry of a user metric as ``(num, den)`` polynomials of ``ctx`` (``fmpq_mpoly``)."""
    one = ctx.from_dict({(0,) * len(variables): 1})
    if isinstance(entry, bool):
        raise InvalidArgument(f"{where}={entry!r} is a bool; write an int, a Fraction or a string such as '1/(1 + x0^2)'")
    if isinstance(entry, (float, np.floating)):
        what = "a float" if math.isfinite(entry) else "not finite"
        raise DomainError(
            f"{where}={entry!r} is {what}; metric entries must be exact: an int, a Fraction or a string such "
            "as '1/10' or 'x0/(1 + x0^2)'"
        )
    if isinstance(entry, (int, np.integer, Fraction)):
        value = entry if isinstance(entry, Fraction) else Fraction(int(entry))
        return ctx.from_dict({(0,) * len(variables): _fmpq(value)} if value else {}), one
    if isinstance(entry, str):
        rest = entry
        for name in sorted(variables, key=len, reverse=True):
            rest = rest.replace(name, " ")
        unknown = [u for u in dict.fromkeys(re.findall(r"(?<![0-9.])[A-Za-z_][A-Za-z0-9_.]*(?:\[[^\]]*\])?", rest))
                   if u.lower() not in ("nan", "inf", "infinity")]
        if unknown:
            raise InvalidArgument(
                f"{where}={entry!r}: unknown name(s) {unknown[:5]}; the metric is a function of the model's "
                f"parameters {list(variables[:6])}{'…' if len(variables) > 6 else ''}"
            )
        parser = _RationalParser(entry, variables, ctx)
        try:
            value = parser.expr()
            parser.skip()
            if parser.pos != len(entry):
                raise parser.error("unexpected text")
        except (InvalidArgument, DomainError) as err:
            raise type(err)(f"{where}: {err}") from err
        return value
    if any((getattr(c, "__module__", None) or "").startswith("sympy") for c in type(entry).__mro__):
        import sympy

        if entry.atoms(sympy.Float):
            raise DomainError(
                f"{where}={entry} has float(s) {sorted(map(str, entry.atoms(sympy.Float)))[:3]}; "
                "use sympy.Rational(1, 10) or integers"
            )
        unknown = sorted(str(s) for s in entry.free_symbols if str(s) not in variables)
        if unknown:
            raise InvalidArgument(
                f"{where}={entry}: unknown name(s) {unknown[:5]}; the metric is a function of the model's "
                f"parameters {list(variables[:6])}{'…' if len(variables) > 6 else ''}"
            )
        num, den = sympy.fraction(sympy.together(entry))
        try:
            return tuple(_metric_entry(str(sympy.expand(e)), variables, ctx, where)[0] for e in (num, den))  # type: ignore[return-value]
        except InvalidArgument as err:
            raise InvalidArgument(f"{where}={entry} is not a quotient of polynomials: {err}") from err
    raise InvalidArgument(
        f"{where}={entry!r} (type={type(entry).__name__}): a metric entry is an int, a Fraction, a string "
        "such as 'x0^2 + 1' or '1/(1 + x0^2)', or a SymPy expression"
    )


def metric_matrix(matrix: Any, variables: Sequence[str]) -> MatrixMetric:
    """A user metric ``M(θ)`` for the flow ``θ' = −M(θ)∇L``, validated and put over a common denominator.

    Parameters
    ----------
    matrix : list of lists, SymPy Matrix, dict or MatrixMetric
        ``D×D`` (``D = len(variables)``): a list of ``D`` rows of ``D`` entries,
        a SymPy ``Matrix``, or a sparse dict ``{(i, j): entry}`` (missing entries
        are 0). An entry is an int, a ``Fraction``, a string (a quotient of
        polynomials in the parameters, e.g. ``"1/(1 + x0^2)"``, read without
        ``eval``) or a SymPy expression.
    variables : sequence of str
        The model's parameter names.

    Returns
    -------
    MatrixMetric
        ``M = P/q`` with ``q`` the least common multiple of the entries'
        denominators and ``P`` integer polynomials (the generators are ``P∇φ_i``).

    Raises
    ------
    InvalidArgument
        Wrong shape, unknown names, malformed entries, or a row that is
        identically zero.
    DomainError
        Float, NaN or infinite entries.

    Examples
    --------
    >>> M = metric_matrix([["1/(1 + x0^2)", 0], [0, 1]], ["x0", "x1"])
    >>> M.to_json()["denominator"], M.to_json()["entries"]
    ([['1', [[0, 2]]], ['1', []]], [[0, 0, [['1', []]]], [1, 1, [['1', [[0, 2]]], ['1', []]]]])
    >>> metric_matrix([[1, 0.5], [0, 1]], ["x0", "x1"])
    Traceback (most recent call last):
    ...
    flowlaws.errors.DomainError: metric[0][1]=0.5 is a float; metric entries must be exact: an int, a Fraction or a string such as '1/10' or 'x0/(1 + x0^2)'
    """
    import flint

    names = tuple(variables)
    D = len(names)
    if isinstance(matrix, MatrixMetric):
        if matrix.size != D:
            raise InvalidArgument(f"metric: a {matrix.size}×{matrix.size} metric for a model with D={D} parameters")
        return matrix
    cells: dict[tuple[int, int], Any] = {}
    if isinstance(matrix, dict):
        for key, entry in matrix.items():
            ok = isinstance(key, tuple) and len(key) == 2 and all(
                isinstance(k, (int, np.integer)) and not isinstance(k, bool) and 0 <= k < D for k in key
            )
            if not ok:
                raise InvalidArgument(
                    f"metric: key {key!r} (type={type(key).__name__}): a sparse metric is a dict {{(i, j): entry}} "
                    f"with integers 0 <= i, j < D={D}"
                )
            cells[(int(key[0]), int(key[1]))] = entry
    else:
        rows = matrix.tolist() if hasattr(matrix, "tolist") and hasattr(matrix, "shape") else matrix
        if isinstance(rows, (str, bytes)) or not isinstance(rows, (list, tuple)):
            raise InvalidArgument(
                f"metric={matrix!r} (type={type(matrix).__name__}): expected one of ('euclidean', 'nmf'), a D×D matrix "
                "(list of lists or SymPy Matrix) or a dict {(i, j): entry}"
            )
        lengths = [len(r) if isinstance(r, (list, tuple)) else None for r in rows]
        if len(rows) != D or any(n != D for n in lengths):
            shape = f"{len(rows)}×{lengths[0]}" if lengths and len(set(lengths)) == 1 else f"{len(rows)} rows of lengths {lengths[:6]}"
            raise InvalidArgument(
                f"metric: got a {shape} matrix but the model has D={D} parameters; pass a {D}×{D} matrix "
                f"(row i, column j is M_ij, in the order of model.variables) or a dict {{(i, j): entry}}"
            )
        cells = {(i, j): e for i, row in enumerate(rows) for j, e in enumerate(row)}
    ctx = flint.fmpq_mpoly_ctx.get(("x", D), "deglex")
    fracs: dict[tuple[int, int], tuple[Any, Any]] = {}
    for (i, j), entry in sorted(cells.items()):
        num, den = _metric_entry(entry, names, ctx, f"metric[{i}][{j}]")
        if not num.is_zero():
            fracs[(i, j)] = (num, den)
    for i in range(D):
        if not any(k[0] == i for k in fracs):
            raise InvalidArgument(
                f"metric: row {i} ({names[i]}) is identically zero, so {names[i]} would never move and M is "
                "singular; give every row a non-zero entry (e.g. 1 on the diagonal)"
            )
    q = ctx.from_dict({(0,) * D: 1})
    for i, j in list(fracs):
        num, den = fracs[(i, j)]
        g = num.gcd(den)
        num, den = num / g, den / g
        fracs[(i, j)] = (num, den)
        q = q * den / q.gcd(den)
    P = {k: num * (q / den) for k, (num, den) in fracs.items()}
    scale = 1
    for f in [q, *P.values()]:
        for c in f.coeffs():
            scale = math.lcm(scale, int(c.q))
    ints = {k: {tuple(int(e) for e in m): int(c * scale) for m, c in f.to_dict().items()} for k, f in [("q", q), *P.items()]}
    content = 0
    for terms in ints.values():
        for c in terms.values():
            content = math.gcd(content, c)
    lead = max(ints["q"])  # keep q's leading coefficient (deglex) positive
    if ints["q"][lead] < 0:
        content = -content

    def canon(terms: dict) -> _Terms:
        return tuple(sorted(((tuple(m), c // content) for m, c in terms.items()), reverse=True))

    entries = tuple((i, j, canon(ints[(i, j)])) for i, j in sorted(P))
    return MatrixMetric(D, entries, canon(ints["q"]))
