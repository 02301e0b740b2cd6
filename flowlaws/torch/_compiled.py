"""Laws compiled once to index tensors, evaluated with vectorised torch ops (float64).

A law is a sparse polynomial ``Σ_t c_t Π_j x_{v_tj}^{e_tj}``. Its terms are grouped by their
exponent pattern (``(2,)`` for a square ``x_i²``, ``(1, 1)`` for ``x_i x_j``, ...: a handful of
groups), sorted by variable, and each group is evaluated at once: a 1-D gather of each vector
involved (almost sequential reads), a few elementwise products per factor column, and one
product with the sparse (law × term) matrix of coefficients per output column, which applies
the coefficients and sums per law. No Python loop over terms, laws or parameters runs per
evaluation, only over the groups and their (few) factor columns.

:meth:`CompiledLaws.taylor` gives, per law, the exact Taylor coefficients of ``h(x + s·Δ)``
(``h(x)``, ``⟨∇h, Δ⟩``, ``Δᵀ∇²hΔ/2``, ...), the first-order terms along further directions,
and ``h`` at another point, in one pass. Only the variables some law uses are kept
(``support``).

Floats only; what it does not check: that the laws belong to the vectors it is given.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import torch

from ..errors import InvalidArgument
from ..laws import Law

__all__ = ["CompiledLaws"]


class _Group:
    """Terms with one exponent pattern ``exps``: ``idx`` (T, F) local variables, ``coef`` and ``owner`` (T,)."""

    def __init__(self, exps: tuple[int, ...], rows: list[list[int]], coefs: list[float], owner: list[int],
                 n_laws: int) -> None:
        self.exps = exps
        idx = torch.tensor(rows, dtype=torch.long).reshape(len(rows), len(exps))
        # terms in the order of their first variable: the gathers then read memory almost in sequence
        order = torch.argsort(idx[:, 0], stable=True) if exps else torch.arange(len(rows))
        self.idx = idx[order]
        self.cols = [self.idx[:, j].contiguous() for j in range(len(exps))]
        self.coef = torch.tensor(coefs, dtype=torch.float64)[order]
        self.owner = torch.tensor(owner, dtype=torch.long)[order]
        T = len(rows)
        with warnings.catch_warnings():  # sparse CSR is flagged "beta"; only its matrix-vector product is used
            warnings.simplefilter("ignore")
            # the (law x term) matrix of coefficients: S @ (per-term values) sums c_t * value_t per law
            self.S = torch.sparse_coo_tensor(torch.stack([self.owner, torch.arange(T)]), self.coef,
                                             (n_laws, T)).coalesce().to_sparse_csr()

    def reduce(self, term: torch.Tensor | None) -> torch.Tensor:
        """``Σ_t c_t · term_t`` per law (``term`` None: every term's value is 1)."""
        if term is None:
            term = torch.ones(self.coef.shape[0], dtype=torch.float64)
        return self.S @ term


class CompiledLaws:
    """``laws`` (over the same variables) as index tensors over their support.

    The vectors given to its methods hold the support's values in order, or, with
    ``positions`` (one per support variable) and ``size``, are vectors of length ``size`` where
    support variable ``k`` is at ``positions[k]`` (e.g. a module's parameters flattened).

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

    def __init__(self, laws: Sequence[Law], *, positions: Sequence[int] | None = None, size: int | None = None) -> None:
        laws = list(laws)
        self.n_laws = len(laws)
        used = self.support_of(laws)
        self.support: tuple[int, ...] = used
        if positions is None:  # the vectors hold the support's values, in order
            positions, size = range(len(used)), len(used)
        elif len(positions) != len(used) or size is None:
            raise InvalidArgument(f"positions: {len(positions)} given for {len(used)} support variables, and a size")
        local = {v: int(positions[k]) for k, v in enumerate(used)}
        self.size = int(size)  # type: ignore[arg-type]
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
        self._groups = [_Group(exps, *lists, n_laws=self.n_laws) for exps, lists in sorted(groups.items())]

    @staticmethod
    def support_of(laws: Sequence[Law]) -> tuple[int, ...]:
        """The indices of the variables some law uses, increasing."""
        return tuple(sorted({v for h in laws for _, mono in h.terms for v, _ in mono}))

    def _check(self, x: torch.Tensor) -> None:
        if x.shape[-1] != self.size:
            raise InvalidArgument(f"a vector of {x.shape[-1]} values for laws over {self.size} variables")

    def values(self, x: torch.Tensor) -> torch.Tensor:
        """``h(x)`` for every law, shape ``(n_laws,)``; ``x`` holds the support's values."""
        self._check(x)
        out = torch.zeros(self.n_laws, dtype=x.dtype)
        for g in self._groups:
            term = _mul(1, *[_pow(x.index_select(0, g.cols[j]), e) for j, e in enumerate(g.exps)])
            out += g.reduce(term)
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
            # per-term values without the coefficient (S @ folds it in); None stands for 1
            cols: list[torch.Tensor | None] = [None] * n_cols
            present = [True] * n_cols
            F = len(g.exps)
            a = [x.index_select(0, g.cols[j]) for j in range(F)]  # 1-D gathers, terms sorted by variable
            b = [delta.index_select(0, g.cols[j]) for j in range(F)]
            poly: list[torch.Tensor | None] = [None]  # the constant 1
            for j, e in enumerate(g.exps):  # multiply by (a_j + s b_j)^e, binomially
                factor = [_mul(math.comb(e, m), _pow(a[j], e - m), _pow(b[j], m)) for m in range(e + 1)]
                if j == 0:
                    poly = factor
                    continue
                new: list[torch.Tensor | None] = [None] * (len(poly) + e)
                hit = [False] * len(new)
                for k, pk in enumerate(poly):
                    for m, f in enumerate(factor):
                        new[k + m] = _add(new[k + m], _mul(1, pk, f)) if hit[k + m] else _mul(1, pk, f)
                        hit[k + m] = True
                poly = new
            cols[: len(poly)] = poly
            for k in range(len(poly), self.degree + 1):
                present[k] = False  # orders above this group's degree: 0
            if others:
                pows = [_pow(a[j], e) for j, e in enumerate(g.exps)]
                partial = [_mul(e, _pow(a[j], e - 1), *[p for l, p in enumerate(pows) if l != j])
                           for j, e in enumerate(g.exps)]  # ∂_j of the term (without its coefficient)
                for i, v in enumerate(others):
                    first = None
                    for j in range(F):
                        vj = v.index_select(0, g.cols[j])
                        first = _add(first, vj if partial[j] is None else partial[j] * vj)
                    cols[self.degree + 1 + i] = first
                if not F:
                    for i in range(len(others)):
                        present[self.degree + 1 + i] = False  # constants have no gradient
            if after is not None:
                cols[-1] = _mul(1, *[_pow(after.index_select(0, g.cols[j]), e) for j, e in enumerate(g.exps)])
            for k in range(n_cols):
                if present[k]:
                    out[k] += g.reduce(cols[k])
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
