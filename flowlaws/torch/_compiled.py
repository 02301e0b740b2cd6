"""Laws compiled once to index tensors, evaluated with vectorised torch ops (float64).

A law is a sparse polynomial ``Σ_t c_t Π_j x_{idx[t, j]}`` (a monomial of degree ``e`` is
``e`` repeated factors; shorter monomials are padded with a column that holds the constant 1).
:meth:`CompiledLaws.values` gathers the factors and multiplies them; :meth:`CompiledLaws.expand`
gives the coefficients of ``h(x + s·d) = Σ_k c_k s^k`` for a batch of directions ``d`` (the
exact Taylor expansion along an update, order by order), with one polynomial product per
factor column: no Python loop over terms, laws or parameters. Only the variables some law
uses are kept (``support``).

Floats only; what it does not check: that the laws belong to the vectors it is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from ..errors import InvalidArgument
from ..laws import Law

__all__ = ["CompiledLaws"]


class CompiledLaws:
    """``laws`` (over the same variables) as index tensors over their support.

    Examples
    --------
    >>> law = Law(((1, ((0, 2),)), (-1, ((1, 1), (2, 1)))), ("a", "b", "c"))   # a^2 - b*c
    >>> c = CompiledLaws([law])
    >>> c.support
    (0, 1, 2)
    >>> c.values(torch.tensor([3.0, 2.0, 1.0], dtype=torch.float64)).tolist()
    [7.0]
    >>> x, d = torch.tensor([3.0, 2.0, 1.0], dtype=torch.float64), torch.tensor([[1.0, 0.0, 1.0]], dtype=torch.float64)
    >>> c.expand(x, d)[0].tolist()            # h(x + s d) = 7 + 4 s + 1 s²  ((3+s)² − 2(1+s))
    [[7.0, 4.0, 1.0]]
    """

    def __init__(self, laws: Sequence[Law]) -> None:
        laws = list(laws)
        self.n_laws = len(laws)
        used = sorted({v for h in laws for _, mono in h.terms for v, _ in mono})
        self.support: tuple[int, ...] = tuple(used)
        local = {v: k for k, v in enumerate(used)}
        self.size = len(used)
        rows: list[list[int]] = []
        coefs: list[float] = []
        owner: list[int] = []
        for k, h in enumerate(laws):
            for c, mono in h.terms:
                factors = [local[v] for v, e in mono for _ in range(e)]
                rows.append(factors)
                coefs.append(float(c))
                owner.append(k)
        self.degree = max((len(r) for r in rows), default=0)
        width = max(self.degree, 1)
        idx = torch.full((len(rows), width), self.size, dtype=torch.long)  # pad: the constant column
        for t, r in enumerate(rows):  # once, at compile time
            if r:
                idx[t, : len(r)] = torch.tensor(r, dtype=torch.long)
        self.idx = idx
        self.coef = torch.tensor(coefs, dtype=torch.float64)
        self.owner = torch.tensor(owner, dtype=torch.long)

    def _check(self, x: torch.Tensor) -> None:
        if x.shape[-1] != self.size:
            raise InvalidArgument(f"a vector of {x.shape[-1]} values for laws over {self.size} variables")

    def values(self, x: torch.Tensor) -> torch.Tensor:
        """``h(x)`` for every law, shape ``(n_laws,)``; ``x`` holds the support's values."""
        self._check(x)
        ext = torch.cat([x, x.new_ones(1)])
        terms = self.coef * ext[self.idx].prod(dim=1)
        return torch.zeros(self.n_laws, dtype=x.dtype).index_add_(0, self.owner, terms)

    def expand(self, x: torch.Tensor, directions: torch.Tensor) -> torch.Tensor:
        """Coefficients ``c_k`` of ``h(x + s·d)`` for each direction: shape ``(B, n_laws, degree + 1)``.

        ``c_0 = h(x)``, ``c_1 = ⟨∇h(x), d⟩``, ``c_2 = dᵀ∇²h(x) d / 2``, ...; their sum
        over ``k ≥ 1`` is ``h(x + d) − h(x)``.
        """
        self._check(x)
        B = directions.shape[0]
        a = torch.cat([x, x.new_ones(1)])[self.idx]  # (T, K): the factors' values
        D = torch.cat([directions, directions.new_zeros(B, 1)], dim=1)[:, self.idx]  # (B, T, K)
        T, K = self.idx.shape
        poly = x.new_zeros(B, T, self.degree + 1)
        poly[:, :, 0] = self.coef
        for j in range(K):  # one product (a_j + s·d_j) per factor column: K = the degree, a few
            shifted = torch.zeros_like(poly)
            shifted[:, :, 1:] = poly[:, :, :-1] * D[:, :, j : j + 1]
            poly = poly * a[:, j].view(1, T, 1) + shifted
        out = x.new_zeros(B, self.n_laws, self.degree + 1)
        return out.index_add_(1, self.owner, poly)


def as_float64(x: Any) -> torch.Tensor:
    """A detached float64 copy of a tensor (the monitor's arithmetic)."""
    return x.detach().to(torch.float64)
