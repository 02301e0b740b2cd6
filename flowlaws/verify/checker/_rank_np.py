"""Exact rank mod a prime of a dense matrix with NumPy (the checker's own elimination).

:func:`rank_mod_p_np` computes the rank of an ``r × n`` integer matrix mod a
prime ``p < 2**31`` by recursive Gaussian elimination on column halves: the
left half gives pivot rows and, for every other row, the multipliers ``X``
with ``rows ≡ X · pivot rows``; the right half of the non-pivot rows is then
updated with one matrix product and eliminated in turn. The products run in
float64 (BLAS) and are *exact*: operands are kept as centred residues
(``|x| <= p/2 + 2``), and when ``k · (p/2)²`` could reach ``2**53`` (``k`` the
inner dimension) the left operand is split into two centred limbs (and, for
primes near ``2**31``, the inner dimension into chunks), so that every
partial sum stays below ``2**53``.

What this module does not check: that ``p`` is prime (the caller does). For
``p >= 2**31`` use the pure-Python :func:`flowlaws.verify.checker._modp.rank_mod_p`.

NumPy is imported inside the functions, so importing this module stays light
and the rest of the checker works without NumPy.

Examples
--------
>>> rank_mod_p_np([[1, 2], [2, 4], [0, 1]], 7)
2
>>> rank_mod_p_np([[1, 2], [2, 4]], 7), rank_mod_p_np([], 7)
(1, 0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["MAX_PRIME", "matmul_mod", "numpy_problem", "rank_mod_p_np", "rank_of_sparse_rows"]

#: Largest modulus (exclusive) the float64 route handles.
MAX_PRIME = 2**31

_EXACT = 2.0**53


def _reduce(v: Any, p: int) -> Any:
    """Centred residues of exact float64 integers ``|v| < 2**53``: ``|result| <= p/2 + 2`` (in place)."""
    import numpy as np

    q = v * (1.0 / p)
    np.rint(q, out=q)
    q *= p
    v -= q
    return v


def _centre(a: Any, p: int) -> Any:
    """Centred float64 residues of an integer array."""
    import numpy as np

    return _reduce(np.mod(a, p).astype(np.float64), p)


def matmul_mod(x: Any, y: Any, p: int) -> Any:
    """``x @ y`` mod ``p`` for centred float64 residues (``|entry| <= p/2 + 2``), ``p < 2**31``.

    Exact: when ``k · h² ≥ 2**53`` (``k`` the inner dimension, ``h = p/2 + 2``)
    ``x`` is split into two centred limbs ``x = 2**s · hi + lo``, and the inner
    dimension is cut into chunks only if even that could round. The result is
    centred too.

    Examples
    --------
    >>> import numpy as np
    >>> p = 16777213
    >>> x = _centre(np.array([[p - 1, 3]]), p); y = _centre(np.array([[p - 1], [5]]), p)
    >>> int(matmul_mod(x, y, p)[0, 0]) % p == ((p - 1)**2 + 15) % p
    True
    """
    import numpy as np

    m, k = x.shape
    n = y.shape[1]
    if m == 0 or n == 0 or k == 0:
        return np.zeros((m, n), dtype=np.float64)
    h = p // 2 + 2  # bound on a centred entry
    if k * h * h < _EXACT:
        return _reduce(x @ y, p)
    s = (h.bit_length() + 1) // 2
    two_s = float(1 << s)
    hi = np.rint(x * (1.0 / two_s))
    lo = x - hi * two_s  # |lo| <= 2**(s-1), |hi| <= h / 2**s + 1
    bound = max((1 << (s - 1)), h // (1 << s) + 1) * h
    chunk = max(1, min(k, int((_EXACT - 1) // bound)))
    out_hi = np.zeros((m, n), dtype=np.float64)
    out_lo = np.zeros((m, n), dtype=np.float64)
    for c in range(0, k, chunk):
        out_hi += _reduce(hi[:, c : c + chunk] @ y[c : c + chunk], p)
        out_lo += _reduce(lo[:, c : c + chunk] @ y[c : c + chunk], p)
        if chunk < k:  # keep the sums small
            _reduce(out_hi, p)
            _reduce(out_lo, p)
    _reduce(out_hi, p)
    out_hi *= two_s
    out_hi += out_lo
    return _reduce(out_hi, p)


def _elim(a: Any, p: int, need_x: bool) -> tuple[Any, Any]:
    """Pivot rows of ``a`` (centred float64 residues) and the multipliers of the others.

    Returns ``(piv, x)``: ``piv`` the indices of a maximal set of independent
    rows (in elimination order), ``x`` (``None`` unless ``need_x``) with
    ``a[rest] ≡ x @ a[piv] (mod p)`` where ``rest`` lists the other rows in
    increasing order.
    """
    import numpy as np

    m, n = a.shape
    empty = np.zeros(0, dtype=np.int64)
    if m == 0 or n == 0:
        return empty, (np.zeros((m, 0)) if need_x else None)
    if n == 1:
        col = a[:, 0]
        nz = np.flatnonzero(col)
        if nz.size == 0:
            return empty, (np.zeros((m, 0)) if need_x else None)
        r = int(nz[0])
        x = None
        if need_x:
            inv = pow(int(col[r]) % p, -1, p)
            rest = np.delete(col, r)
            if (p // 2 + 2) * p < _EXACT:
                x = _reduce(rest * float(inv), p)
            else:  # the float product could round: multiply in int64 (< 2**62)
                x = _centre(rest.astype(np.int64) % p * inv, p)
            x = x.reshape(-1, 1)
        return np.array([r], dtype=np.int64), x
    h = n // 2
    piv1, x1 = _elim(a[:, :h], p, True)
    if piv1.size == m:
        return piv1, (np.zeros((0, m)) if need_x else None)
    keep1 = np.ones(m, dtype=bool)
    keep1[piv1] = False
    rest1 = np.flatnonzero(keep1)
    right = a[rest1, h:]
    if piv1.size:
        right -= matmul_mod(x1, a[piv1, h:], p)
        _reduce(right, p)
    piv2r, x2 = _elim(right, p, need_x)
    piv = np.concatenate([piv1, rest1[piv2r]])
    if not need_x:
        return piv, None
    keep = np.ones(rest1.size, dtype=bool)
    keep[piv2r] = False
    left = x1[keep]
    if piv2r.size:
        left -= matmul_mod(x2, x1[piv2r], p)
        _reduce(left, p)
    return piv, np.concatenate([left, x2], axis=1)


def rank_mod_p_np(matrix: Any, p: int) -> int:
    """Rank mod ``p`` (a prime ``< 2**31``) of an integer matrix (rows of ints or a NumPy array).

    Parameters
    ----------
    matrix : array_like
        ``r × n`` integers (any sign; reduced mod ``p`` first). An empty list has rank 0.
    p : int
        The prime, ``3 <= p < 2**31``.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        If ``p`` is out of range, the matrix is not two-dimensional or not integer.
    """
    import numpy as np

    if not 2 <= p < MAX_PRIME:
        raise ValueError(f"p={p}: the NumPy rank needs 2 <= p < 2**31; use flowlaws.verify.checker._modp.rank_mod_p")
    if not isinstance(matrix, np.ndarray):  # Python ints of any size: reduce them exactly first
        rows = [[int(v) % p for v in row] for row in matrix]
        if not rows:
            return 0
        matrix = np.array(rows, dtype=np.int64)
    a = matrix
    if a.size == 0:
        return 0
    if a.ndim != 2:
        raise ValueError(f"expected a two-dimensional matrix, got shape {a.shape}")
    if a.dtype == object:
        a = np.array([[int(v) % p for v in row] for row in a.tolist()], dtype=np.int64).reshape(a.shape)
    elif a.dtype.kind == "u":
        a = (a.astype(np.uint64) % np.uint64(p)).astype(np.int64)
    elif a.dtype.kind != "i":
        raise ValueError(f"expected an integer matrix, got dtype {a.dtype}; floats are not exact")
    if a.shape[0] > a.shape[1]:
        a = a.T  # rank(A) = rank(A^T); eliminate the shorter side
    a = _centre(np.ascontiguousarray(a).astype(np.int64, copy=False), p)
    piv, _ = _elim(a, p, False)
    return int(piv.size)


def rank_of_sparse_rows(rows: Sequence[Mapping[int, int]], p: int, dim: int) -> int:
    """:func:`rank_mod_p_np` of sparse rows ``{index: value}`` of length ``dim``.

    >>> rank_of_sparse_rows([{0: 1, 2: 5}, {0: 2, 2: 10}, {1: 1}], 101, 3)
    2
    """
    import numpy as np

    dense = np.zeros((len(rows), dim), dtype=np.int64)
    for i, row in enumerate(rows):
        if row:
            dense[i, list(row)] = [int(x) % p for x in row.values()]
    return rank_mod_p_np(dense, p)


def numpy_problem() -> str | None:
    """Why NumPy cannot be used (the checker's fast route needs it), or ``None``."""
    try:
        import numpy  # noqa: F401
    except ImportError:
        return "NumPy is not installed"
    return None
