"""Laws compiled once to index tensors, evaluated with vectorised torch ops (float64).

A law is a sparse polynomial ``Σ_t c_t Π_j x_{v_tj}^{e_tj}``. Its terms are grouped by their
exponent pattern (``(2,)`` for a square ``x_i²``, ``(1, 1)`` for ``x_i x_j``, ...: a handful of
groups), and each group is evaluated at once: one row gather of the vectors involved, a few
elementwise products per factor column, one ``index_add`` per law. No Python loop over terms,
laws or parameters runs per evaluation, only over the groups and their (few) factor columns.

:meth:`CompiledLaws.taylor` gives, per law, the exact Taylor coefficients of ``h(x + s·Δ)``
(``h(x)``, ``⟨∇h, Δ⟩``, ``Δᵀ∇²hΔ/2``, ...), the first-order terms along further directions,
and ``h`` at another point, in one pass. Only the variables some law uses are kept
(``support``).

Floats only; what it does not check: that the laws belong to the vectors it is given.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ..errors import InvalidArgument
from ..laws import Law

__all__ = ["CompiledLaws"]


class _Group:
    """Terms with one exponent pattern ``exps``: ``idx`` (T, F) local variables, ``coef`` and ``owner`` (T,)."""

    def __init__(self, exps: tuple[int, ...], rows: list[list[int]], coefs: list[float], owner: list[int]) -> None:
        self.exps = exps
        self.idx = torch.tensor(rows, dtype=torch.long).reshape(len(rows), len(exps))
        self.cols = [self.idx[:, j].contiguous() for j in range(len(exps))]
        self.coef = torch.tensor(coefs, dtype=torch.float64)
        self.owner = torch.tensor(owner, dtype=torch.long)


class CompiledLaws:
    """``laws`` (over the same variables) as index tensors over their support.

    Examples
    --------
    >>> law = Law(((1, ((0, 2),)), (-1, ((1, 1), (2, 1)))), ("a", "b", "c"))   # a^2 - b*c
    >>> c = CompiledLaws([law])
    >>> c.support, c.degree
    ((0, 1, 2), 2)
    >>> x = torch.tensor([3.0, 2.0, 1.0], dtype=torch.float64)
    >>> c.values(x).tolist()
    [7.0]
    >>> d, v = torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64), torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)
    >>> c.taylor(x, d, [v], after=x + d).tolist()   # 7 + 4 s + s², ⟨∇h, v⟩ = −c = −1, h(x + d) = 12
    [[7.0, 4.0, 1.0, -1.0, 12.0]]
    """

    def __init__(self, laws: Sequence[Law]) -> None:
        laws = list(laws)
        self.n_laws = len(laws)
        used = sorted({v for h in laws for _, mono in h.terms for v, _ in mono})
        self.support: tuple[int, ...] = tuple(used)
        local = {v: k for k, v in enumerate(used)}
        self.size = len(used)
        groups: dict[tuple[int, ...], tuple[list[list[int]], list[float], list[int]]] = {}
        degree = 0
        for k, h in enumerate(laws):  # once, at compile time
            for c, mono in h.terms:
                factors = sorted(((e, local[v]) for v, e in mono if e), key=lambda t: (-t[0], t[1]))
                exps = tuple(e for e, _ in factors)
                degree = max(degree, sum(exps))
                rows, coefs, owner = groups.setdefault(exps, ([], [], []))
                rows.append([v for _, v in factors])
                coefs.append(float(c))
                owner.append(k)
        self.degree = degree
        self._groups = [_Group(exps, *lists) for exps, lists in sorted(groups.items())]

    def _check(self, x: torch.Tensor) -> None:
        if x.shape[-1] != self.size:
            raise InvalidArgument(f"a vector of {x.shape[-1]} values for laws over {self.size} variables")

    def values(self, x: torch.Tensor) -> torch.Tensor:
        """``h(x)`` for every law, shape ``(n_laws,)``; ``x`` holds the support's values."""
        self._check(x)
        out = torch.zeros(self.n_laws, dtype=x.dtype)
        for g in self._groups:
            term = g.coef.to(x.dtype)
            if g.exps:
                A = x[g.idx]  # (T, F)
                for j, e in enumerate(g.exps):
                    term = term * A[:, j] ** e
            out.index_add_(0, g.owner, term)
        return out

    def taylor(self, x: torch.Tensor, delta: torch.Tensor, others: Sequence[torch.Tensor] = (),
               after: torch.Tensor | None = None) -> torch.Tensor:
        """Per law, in one pass: ``h(x + s·delta)``'s coefficients, first orders along ``others``, ``h(after)``.

        Returns shape ``(n_laws, degree + 1 + len(others) + (after is not None))``: columns
        ``c_0 = h(x)``, ``c_1 = ⟨∇h(x), delta⟩``, ``c_2 = deltaᵀ∇²h(x) delta / 2``, ... up to
        ``c_degree`` (their sum over ``k ≥ 1`` is ``h(x + delta) − h(x)``), then
        ``⟨∇h(x), v⟩`` for each ``v`` in ``others``, then ``h(after)`` when given.
        """
        self._check(x)
        n_cols = self.degree + 1 + len(others) + (after is not None)
        out = torch.zeros(n_cols, self.n_laws, dtype=x.dtype)
        for g in self._groups:
            coef = g.coef.to(x.dtype)
            cols: list[torch.Tensor | None] = [None] * n_cols
            if not g.exps:  # constant terms
                cols[0] = coef
                if after is not None:
                    cols[-1] = coef
            else:
                F = len(g.exps)
                a = [x.index_select(0, g.cols[j]) for j in range(F)]  # 1-D gathers, terms sorted by law
                b = [delta.index_select(0, g.cols[j]) for j in range(F)]
                poly: list[torch.Tensor | None] = [coef]
                for j, e in enumerate(g.exps):  # multiply by (a_j + s b_j)^e, binomially
                    factor = [_mul(math.comb(e, m), _pow(a[j], e - m), _pow(b[j], m)) for m in range(e + 1)]
                    new: list[torch.Tensor | None] = [None] * (len(poly) + e)
                    for k, pk in enumerate(poly):
                        if pk is None:  # a zero coefficient
                            continue
                        for m, f in enumerate(factor):
                            new[k + m] = _add(new[k + m], _mul(1, pk, f))
                    poly = new
                cols[: len(poly)] = poly
                if others:
                    pows = [_pow(a[j], e) for j, e in enumerate(g.exps)]
                    partial = []  # ∂_j of the term
                    for j, e in enumerate(g.exps):
                        partial.append(_mul(e, coef, _pow(a[j], e - 1), *[p for l, p in enumerate(pows) if l != j]))
                    for i, v in enumerate(others):
                        first = None
                        for j in range(F):
                            first = _add(first, _mul(1, partial[j], v.index_select(0, g.cols[j])))
                        cols[self.degree + 1 + i] = first
                if after is not None:
                    cols[-1] = _mul(1, coef, *[_pow(after.index_select(0, g.cols[j]), e) for j, e in enumerate(g.exps)])
            for k, col in enumerate(cols):  # per column: a 1-D index_add is faster than a 2-D one
                if col is not None:
                    out[k].index_add_(0, g.owner, col.expand(g.owner.shape[0]))
        return out.t().contiguous()


def _pow(t: torch.Tensor, k: int) -> torch.Tensor | None:
    """``t^k``, None for ``k = 0`` (the factor 1)."""
    return None if k == 0 else t if k == 1 else t * t if k == 2 else t**k


def _mul(c: int, *factors: torch.Tensor | None) -> torch.Tensor | None:
    """``c`` times the factors, None standing for 1; None if every factor is 1 and ``c`` is 1."""
    out = None
    for f in factors:
        if f is not None:
            out = f if out is None else out * f
    if c != 1:
        out = out * c if out is not None else torch.tensor(float(c), dtype=torch.float64)
    return out


def _add(a: torch.Tensor | None, b: torch.Tensor | None) -> torch.Tensor | None:
    """``a + b``, None standing for 0 (only in sums, where a missing term is 0)."""
    return b if a is None else a if b is None else a + b


def as_float64(x: torch.Tensor) -> torch.Tensor:
    """A detached float64 copy of a tensor (the monitor's arithmetic)."""
    return x.detach().to(torch.float64)
