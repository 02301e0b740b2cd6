"""Models given as products of parameter matrices: ``Q Kᵀ``, ``V Oᵀ``, deep linear products."""

from __future__ import annotations

import re
from typing import Mapping, Sequence

from ..errors import BudgetExceeded, InvalidArgument
from ._builders import MAX_PARAMETERS, _check_size, _check_total
from ._model import Model

__all__ = ["from_products", "attention", "deep_product"]


def _factor(token: str) -> tuple[str, bool]:
    if not isinstance(token, str) or not token:
        raise InvalidArgument(f"factor {token!r}: expected a matrix name such as 'Q' or 'K.T'")
    for suffix in (".T", "^T", "ᵀ"):
        if token.endswith(suffix):
            return token[: -len(suffix)], True
    return token, False


def from_products(
    products: Sequence[Sequence[str]],
    shapes: Mapping[str, tuple[int, int]],
    *,
    name: str | None = None,
    max_parameters: int = MAX_PARAMETERS,
) -> Model:
    """φ = the entries of products of parameter matrices.

    Parameters
    ----------
    products : sequence of sequences of str
        Each product is a list of matrix names, ``"K.T"`` for a transpose.
    shapes : mapping str -> (rows, cols)
        The shape of every named matrix; a matrix used in several products is shared.
    max_parameters : int
        Refuse more parameters than this, and a dense φ (coordinates x terms x
        parameters) above 100 times it, before building anything.

    Raises
    ------
    InvalidArgument
        Unknown names, shapes that do not chain, matrix names that are not identifiers.
    BudgetExceeded
        Beyond ``max_parameters``.

    Examples
    --------
    >>> m = from_products([["U", "V.T"]], {"U": (2, 1), "V": (3, 1)})
    >>> m.variables, len(m.phi)
    (('U[0,0]', 'U[1,0]', 'V[0,0]', 'V[1,0]', 'V[2,0]'), 6)
    """
    if isinstance(products, (str, bytes)) or not isinstance(products, Sequence) or not products:
        raise InvalidArgument(f"products={products!r:.60}: give at least one product such as [['U', 'V.T']]")
    if not isinstance(shapes, Mapping):
        raise InvalidArgument(f"shapes={shapes!r:.60} (type={type(shapes).__name__}): expected a dict name -> (rows, cols)")
    for key, shape in shapes.items():
        if not isinstance(key, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key, re.ASCII):
            raise InvalidArgument(f"shapes key {key!r:.40}: a matrix name must be an identifier such as 'Q' or 'W1'")
        if not (isinstance(shape, (tuple, list)) and len(shape) == 2):
            raise InvalidArgument(f"shapes[{key!r}]={shape!r}: expected (rows, cols)")
        _check_size(f"shapes[{key!r}][0]", shape[0])
        _check_size(f"shapes[{key!r}][1]", shape[1])
    D = sum(r * c for r, c in shapes.values())
    _check_total(f"the matrices {sorted(shapes)}", D, max_parameters, "from_products")
    cells = 0
    for product in products:
        if isinstance(product, (str, bytes)) or not isinstance(product, Sequence):
            raise InvalidArgument(f"product {product!r:.60}: expected a list of matrix names such as ['Q', 'K.T']")
        dims = []
        for t in product:
            key, transposed = _factor(t)
            if key in shapes:
                r, c = shapes[key]
                dims.append((c, r) if transposed else (r, c))
        if dims:  # entries x terms per entry (the inner dimensions) x dense exponent tuples
            terms = 1
            for r, _ in dims[1:]:
                terms *= r
            cells += dims[0][0] * dims[-1][1] * terms * D
    if cells > 100 * max_parameters:
        raise BudgetExceeded(
            f"the products store {cells} exponents (entries x terms x {D} parameters), more than "
            f"100 x max_parameters={max_parameters}; raise it with from_products(..., max_parameters=...) "
            "if you have the memory"
        )
    names: list[str] = []
    index: dict[tuple[str, int, int], int] = {}
    for key, (rows, cols) in shapes.items():
        for i in range(rows):
            for j in range(cols):
                index[(key, i, j)] = len(names)
                names.append(f"{key}[{i},{j}]")
    coords = []
    for product in products:
        factors = [_factor(t) for t in product]
        if not factors:
            raise InvalidArgument("an empty product: every product needs at least one matrix")
        dims = []
        for key, transposed in factors:
            if key not in shapes:
                raise InvalidArgument(f"matrix {key!r} has no shape; known: {sorted(shapes)}")
            r, c = shapes[key]
            dims.append((c, r) if transposed else (r, c))
        for (r1, c1), (r2, c2) in zip(dims, dims[1:]):
            if c1 != r2:
                raise InvalidArgument(f"product {list(product)}: shapes {dims} do not chain ({c1} != {r2})")
        # entries as sums of monomials (sorted variable tuples), multiplied along the chain
        current = None
        for (key, transposed), (r, c) in zip(factors, dims):
            def var(i: int, j: int, key=key, transposed=transposed) -> int:
                return index[(key, j, i)] if transposed else index[(key, i, j)]

            if current is None:
                current = [[{(var(i, j),): 1} for j in range(c)] for i in range(r)]
                continue
            nxt = []
            for i in range(len(current)):
                row = []
                for j in range(c):
                    acc: dict = {}
                    for k in range(r):
                        for mono, coef in current[i][k].items():
                            m = tuple(sorted(mono + (var(k, j),)))
                            acc[m] = acc.get(m, 0) + coef
                    row.append(acc)
                nxt.append(row)
            current = nxt
        for row in current:
            for entry in row:
                coord = {}
                for mono, coef in entry.items():
                    e = [0] * D
                    for v in mono:
                        e[v] += 1
                    coord[tuple(e)] = coef
                coords.append(coord)
    label = name or " , ".join("·".join(p) for p in products)
    return Model(variables=tuple(names), kind="polynomials", name=label, phi=coords)


def attention(d: int, k: int, *, max_parameters: int = MAX_PARAMETERS) -> Model:
    """One attention head's bilinear forms: φ = (Q Kᵀ, V Oᵀ) with ``Q, K, V, O ∈ R^{d×k}``.

    Examples
    --------
    >>> attention(2, 1).dim
    8
    """
    d, k = _check_size("d", d), _check_size("k", k)
    shapes = {"Q": (d, k), "K": (d, k), "V": (d, k), "O": (d, k)}
    return from_products([["Q", "K.T"], ["V", "O.T"]], shapes, name=f"attention:{d}x{k}", max_parameters=max_parameters)


def deep_product(widths: Sequence[int], *, max_parameters: int = MAX_PARAMETERS) -> Model:
    """``W_L ⋯ W_1`` with ``W_l ∈ R^{n_l × n_{l-1}}`` as an explicit product (same φ as a linear MLP)."""
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence):
        raise InvalidArgument(f"widths={widths!r:.60}: expected a list of widths such as [3, 4, 2]")
    widths = [_check_size(f"widths[{i}]", w) for i, w in enumerate(widths)]
    if len(widths) < 2:
        raise InvalidArgument(f"widths={widths}: need at least two widths")
    shapes = {f"W{l}": (widths[l], widths[l - 1]) for l in range(1, len(widths))}
    chain = [f"W{l}" for l in range(len(widths) - 1, 0, -1)]
    return from_products([chain], shapes, name=f"product:{'x'.join(map(str, widths))}", max_parameters=max_parameters)
