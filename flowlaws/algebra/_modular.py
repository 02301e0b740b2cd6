"""Exact linear algebra modulo a prime, vectorised with NumPy.

Values are ``int64`` arrays with entries in ``[0, p)``. Products of two such
entries stay below ``2**48`` for the default prime (< 2**24), so sums of up to
``2**15`` products are exact in ``int64``; longer dot products go through
float64 BLAS on 12-bit limbs, each partial product exact below ``2**53``.

The eliminations (the dense :func:`rank_mod` from ``BLAS_RANK_THRESHOLD`` on,
and :class:`IncrementalBasis`) work on float64 *centred* residues in
``(-p/2, p/2]``: a product of two is below ``2**46``, so a dot product of up
to 127 terms is an exact integer below ``2**53``; longer products are cut into
such chunks, each reduced (``v − p·rint(v/p)``, exact) before the next.

What this module does not check: that ``p`` is prime (the callers pass a
stated prime).

Rank modulo a prime never exceeds rank over Q: every rank computed here is a
rigorous lower bound for the rational rank.

Examples
--------
>>> import numpy as np
>>> A = np.array([[1, 2], [2, 4]], dtype=np.int64)
>>> rank_mod(A, 16777213)
1
"""

from __future__ import annotations


import numpy as np

from ..errors import InvalidArgument

__all__ = [
    "DEFAULT_PRIME",
    "matmul_mod",
    "rank_mod",
    "IncrementalBasis",
    "nullspace_rref_mod",
    "rational_reconstruction",
    "splitmix_values",
    "inverse_mod",
]

DEFAULT_PRIME = 16777213  # the largest prime below 2**24

_MASK64 = (1 << 64) - 1


def _check_prime_size(p: int) -> None:
    if not (2 < p < (1 << 24)):
        raise InvalidArgument(f"prime={p}: the vectorised kernels need a prime in (2, 2**24)")


def matmul_mod(A: np.ndarray, B: np.ndarray, p: int) -> np.ndarray:
    """``A @ B mod p`` for int64 matrices with entries in ``[0, p)``, exactly.

    Uses float64 BLAS on a 12-bit split of ``B``: every partial sum stays below
    ``2**53`` while the inner dimension is below ``2**17``.

    Examples
    --------
    >>> import numpy as np
    >>> p = 16777213
    >>> A = np.array([[p - 1, 2]], dtype=np.int64); B = np.array([[p - 1], [3]], dtype=np.int64)
    >>> int(matmul_mod(A, B, p)[0, 0]) == ((p - 1) ** 2 + 6) % p
    True
    """
    _check_prime_size(p)
    if A.shape[-1] == 0:
        return np.zeros(A.shape[:-1] + B.shape[-1:], dtype=np.int64)
    if A.shape[-1] >= (1 << 17):
        half = A.shape[-1] // 2
        return (matmul_mod(A[..., :half], B[:half], p) + matmul_mod(A[..., half:], B[half:], p)) % p
    lo = (B & 0xFFF).astype(np.float64)
    hi = (B >> 12).astype(np.float64)
    Af = A.astype(np.float64)
    r_lo = np.fmod(Af @ lo, p).astype(np.int64)
    r_hi = np.fmod(Af @ hi, p).astype(np.int64)
    return (r_hi * 4096 + r_lo) % p


def inverse_mod(values: np.ndarray, p: int) -> np.ndarray:
    """Elementwise inverse mod ``p`` of non-zero int64 values (Fermat)."""
    result = np.ones_like(values)
    base = values % p
    e = p - 2
    while e:
        if e & 1:
            result = (result * base) % p
        base = (base * base) % p
        e >>= 1
    return result


# ---------------------------------------------------------------------------
# dense rank: exact float64 BLAS elimination on centred residues

#: ``rank_mod`` uses python-flint below this size (``min(rows, cols)``) and the
#: NumPy/BLAS elimination from it on (measured crossover about 250, see
#: ``benchmarks/kernels.py``).
BLAS_RANK_THRESHOLD = 256

_LEAF = 64  # panel width eliminated at once (at most the exact inner length, 127 for p < 2**24)
_CACHE_BLOCK = 1 << 15  # elements per cache-sized block of the elementwise passes


def _reduce_centred(v: np.ndarray, p: int) -> np.ndarray:
    """In place: ``v`` (float64 integers, ``|v| < 2**53``) to centred residues, ``|v| <= p//2 + 2``.

    ``v - p*rint(v/p)``: ``rint`` of the rounded quotient is off by at most
    ``2**-23`` before rounding, and ``p*q`` and the difference are exact integers
    below ``2**53``. The passes run on cache-sized row blocks.
    """
    if v.size == 0:
        return v
    m, n = v.shape
    bs = max(1, _CACHE_BLOCK // max(n, 1))
    buf = np.empty((min(bs, m), n))
    inv = 1.0 / p
    for s in range(0, m, bs):
        b = v[s : s + bs]
        q = buf[: b.shape[0]]
        np.multiply(b, inv, out=q)
        np.rint(q, out=q)
        q *= p
        b -= q
    return v


def _exact_inner(p: int) -> int:
    """Longest inner dimension ``k`` with ``k*h**2 + h < 2**53`` (``h = p//2 + 2``, a centred bound)."""
    h = p // 2 + 2
    return max(1, ((1 << 53) - h) // (h * h))


def _submul_centred(c: np.ndarray, x: np.ndarray, y: np.ndarray, p: int) -> np.ndarray:
    """In place: ``c ← (c − x @ y) mod p``, all float64 centred residues.

    The inner dimension is cut into chunks of at most :func:`_exact_inner`
    (127 for the default prime): each chunk product is exact below ``2**53``,
    and is subtracted and reduced before the next one.
    """
    k = x.shape[1]
    if c.size == 0 or k == 0:
        return c
    size = _exact_inner(p)
    chunks = -(-k // size)
    size = -(-k // chunks)
    tmp = np.empty(c.shape)
    m, n = c.shape
    bs = max(1, _CACHE_BLOCK // max(n, 1))
    buf = np.empty((min(bs, m), n))
    inv = 1.0 / p
    for s in range(0, k, size):
        np.matmul(x[:, s : s + size], y[s : s + size], out=tmp)
        for r in range(0, m, bs):  # c -= tmp, then reduce, one cache block at a time
            b = c[r : r + bs]
            b -= tmp[r : r + bs]
            q = buf[: b.shape[0]]
            np.multiply(b, inv, out=q)
            np.rint(q, out=q)
            q *= p
            b -= q
    return c


def _to_centred(A: np.ndarray, p: int) -> np.ndarray:
    """float64 centred residues of an int64 array with entries in ``[0, p)``."""
    c = A.astype(np.float64)
    c[A > p // 2] -= p
    return c


def _from_centred(c: np.ndarray, p: int) -> np.ndarray:
    """int64 entries in ``[0, p)`` from float64 centred residues."""
    A = c.astype(np.int64)
    A[A < 0] += p
    return A


def _submul_mod(C: np.ndarray, X: np.ndarray, Y: np.ndarray, p: int) -> np.ndarray:
    """``(C − X @ Y) mod p`` for int64 arrays with entries in ``[0, p)``: one exact float product per inner chunk."""
    c = _to_centred(C, p)
    _submul_centred(c, _to_centred(X, p), _to_centred(Y, p), p)
    return _from_centred(c, p)


def _gauss_jordan_small(B: np.ndarray, p: int, with_inverse: bool) -> tuple[list[int], list[int], np.ndarray | None]:
    """Gauss–Jordan mod ``p`` on a small int64 block with entries in ``[0, p)``.

    Columns are taken in order, each pivot is the first remaining row that is
    non-zero there, so the pivot columns are the greedy (leftmost) independent
    columns. Returns ``(rows, cols, Qinv)`` with ``Qinv @ B[rows][:, cols] ≡ I``
    (``Qinv`` only when ``with_inverse``, read off the identity carried along).
    """
    K, c = B.shape
    M = np.concatenate([B, np.eye(K, dtype=np.int64)], axis=1) if with_inverse else B.copy()
    active = np.ones(K, dtype=bool)
    rows: list[int] = []
    cols: list[int] = []
    for j in range(c):
        col = M[:, j]
        cand = np.flatnonzero(active & (col != 0))
        if cand.size == 0:
            continue
        r = int(cand[0])
        active[r] = False
        rows.append(r)
        cols.append(j)
        M[r] = (M[r] * pow(int(M[r, j]), p - 2, p)) % p
        others = np.flatnonzero(M[:, j]) if with_inverse else cand[1:]
        others = others[others != r]
        if others.size:
            f = M[others, j]
            M[others] = (M[others] - f[:, None] * M[r][None, :]) % p
        if len(rows) == K:
            break
    Qinv = M[np.ix_(rows, [c + i for i in rows])] if with_inverse else None
    return rows, cols, Qinv


def _inverse_small(Q: np.ndarray, p: int) -> np.ndarray:
    """Inverse mod ``p`` of a small invertible int64 matrix (entries in ``[0, p)``)."""
    rows, cols, T = _gauss_jordan_small(Q, p, True)
    if len(rows) != Q.shape[0]:  # pragma: no cover - the callers pass invertible matrices
        raise ArithmeticError(f"a {Q.shape} pivot block is singular mod {p}")
    inv = np.empty_like(T)
    inv[:, rows] = T  # T @ Q[rows] = I
    return inv


def _leaf_centred(a: np.ndarray, p: int, need_x: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Pivot rows of a panel of at most ``_exact_inner(p)`` columns, and the multipliers.

    Gauss–Jordan on the first ``c + 4`` rows usually finds all ``c`` pivots;
    otherwise the residues of the other rows against the pivots found are
    computed with one product and searched in turn. ``x`` (when ``need_x``)
    satisfies ``a[rest] ≡ x @ a[piv]`` with ``rest`` the other rows in
    increasing order.
    """
    m, c = a.shape
    K = min(m, c + 4)
    rows, cols, Qinv = _gauss_jordan_small(np.mod(a[:K], p).astype(np.int64), p, True)
    piv = list(rows)
    todo = np.arange(K, m)
    while len(piv) < c and todo.size:  # rows of the block not taken are in the span of its pivots
        sub = a[todo]
        if piv:
            if Qinv is None:
                Qinv = _inverse_small(np.mod(a[np.ix_(piv, cols)], p).astype(np.int64), p)
            X = _reduce_centred(sub[:, cols] @ _reduce_centred(Qinv.astype(np.float64), p), p)
            _submul_centred(sub, X, a[piv], p)
        nzr = np.flatnonzero(np.any(sub != 0, axis=1))
        if nzr.size == 0:
            break
        blk = nzr[: c - len(piv) + 4]
        new_rows, new_cols, _ = _gauss_jordan_small(np.mod(sub[blk], p).astype(np.int64), p, False)
        new = todo[blk[new_rows]]
        piv += [int(i) for i in new]
        cols += new_cols
        todo = np.setdiff1d(todo[nzr], new)
        Qinv = None
    piv_arr = np.array(piv, dtype=np.int64)
    if not need_x:
        return piv_arr, None
    if piv and Qinv is None:  # pivots were added from the residues: a[piv][:, cols] is invertible
        Qinv = _inverse_small(np.mod(a[np.ix_(piv, cols)], p).astype(np.int64), p)
    keep = np.ones(m, dtype=bool)
    keep[piv_arr] = False
    rest = np.flatnonzero(keep)
    if not piv or Qinv is None:
        return piv_arr, np.zeros((rest.size, 0))
    Qc = _reduce_centred(Qinv.astype(np.float64), p)
    return piv_arr, _reduce_centred(a[np.ix_(rest, np.array(cols, dtype=np.int64))] @ Qc, p)


def _elim_centred(a: np.ndarray, p: int, need_x: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Recursive elimination on column halves: ``(piv, x)``, ``a[rest] ≡ x @ a[piv]`` (mod ``p``).

    ``piv`` are row indices of a maximal independent set of rows (``len(piv)``
    is the rank), ``rest`` the other rows in increasing order. The left half
    gives pivot rows and multipliers; the rest of the right half is updated
    with one exact product (the Schur complement) and eliminated in turn.
    """
    m, n = a.shape
    if m == 0 or n == 0:
        return np.zeros(0, dtype=np.int64), (np.zeros((m, 0)) if need_x else None)
    leaf = min(_LEAF, _exact_inner(p))
    if n <= leaf:
        return _leaf_centred(a, p, need_x)
    h = -(-(n // 2) // leaf) * leaf  # a multiple of the leaf width
    piv1, x1_ = _elim_centred(a[:, :h], p, True)
    assert x1_ is not None
    x1: np.ndarray = x1_
    if piv1.size == m:
        return piv1, (np.zeros((0, m)) if need_x else None)
    keep1 = np.ones(m, dtype=bool)
    keep1[piv1] = False
    rest1 = np.flatnonzero(keep1)
    right = a[rest1, h:]
    if piv1.size:
        _submul_centred(right, x1, a[piv1, h:], p)
    piv2r, x2 = _elim_centred(right, p, need_x)
    piv = np.concatenate([piv1, rest1[piv2r]])
    if not need_x or x2 is None:
        return piv, None
    keep = np.ones(rest1.size, dtype=bool)
    keep[piv2r] = False
    left = x1[keep]
    if piv2r.size:
        _submul_centred(left, x2, x1[piv2r], p)
    return piv, np.concatenate([left, x2], axis=1)


def _rank_blas(A: np.ndarray, p: int) -> int:
    """Rank mod ``p`` by the exact float64 elimination (``A`` int64, any sign)."""
    if A.size == 0:
        return 0
    if A.shape[0] > A.shape[1]:
        A = A.T  # eliminate the shorter side: the recursion runs over columns
    a = np.mod(A, p).astype(np.float64)
    _reduce_centred(a, p)
    piv, _ = _elim_centred(np.ascontiguousarray(a), p, False)
    return int(piv.size)


def rank_mod(A: np.ndarray, p: int) -> int:
    """Rank of an integer matrix modulo the prime ``p``, exactly.

    Below :data:`BLAS_RANK_THRESHOLD` (on ``min(rows, cols)``), or for a prime
    of ``2**24`` or more, python-flint's ``nmod_mat`` (built from one flat
    list). Otherwise a recursive elimination on column halves in float64 BLAS:
    residues are centred in ``(-p/2, p/2]`` and every product is cut into
    inner chunks of at most 127 so that every partial sum is an exact integer
    below ``2**53``; no data goes through Python lists.

    Parameters
    ----------
    A : array_like of int
        ``r × n``, any sign (reduced mod ``p`` first).
    p : int
        A prime.

    Returns
    -------
    int
        The rank mod ``p`` (0 for an empty matrix), at most the rank over Q.

    Examples
    --------
    >>> import numpy as np
    >>> rank_mod(np.array([[1, 2, 3], [2, 4, 6]]), 16777213)
    1
    >>> rng = np.random.default_rng(0)
    >>> U, V = rng.integers(0, 9, (300, 290)), rng.integers(0, 9, (290, 310))
    >>> rank_mod(U @ V, 16777213)   # the BLAS route: 300 × 310 of rank 290
    290
    """
    A = np.asarray(A, dtype=np.int64)
    if A.size == 0:
        return 0
    if A.ndim == 2 and min(A.shape) >= BLAS_RANK_THRESHOLD and 2 < p < (1 << 24):
        return _rank_blas(A, p)
    import flint

    A = A % p
    return int(flint.nmod_mat(A.shape[0], A.shape[1], A.ravel().tolist(), p).rank())


class IncrementalBasis:
    """A growing set of vectors mod ``p`` kept in reduced row echelon form.

    ``add(V)`` reduces a batch of vectors against the basis and tells which of
    them raised the rank (in order: a vector raises the rank when it is not in
    the span of the basis and of the batch vectors before it).

    The basis is stored as blocks, one per ``add``: each block is in reduced
    echelon form on its own pivots and zero on the pivots of earlier blocks, so
    adding never rewrites earlier rows and :meth:`reduce` runs block after
    block. Inside ``add`` a batch is split in halves recursively
    (:func:`_echelon_rows`): exact products carry the top half's rows to the
    bottom half, and chunks of ``chunk`` rows are settled row by row with one
    vectorised elimination step per row. ``rows`` and
    ``pivots`` are the same as the row-by-row construction gives: the pivot of
    a vector is the first non-zero entry of its residue, the set of pivots is
    the set of leading columns of the span, and ``rows`` is its reduced form.

    Examples
    --------
    >>> import numpy as np
    >>> B = IncrementalBasis(3, 16777213)
    >>> B.add(np.array([[1, 0, 1], [2, 0, 2], [0, 1, 0]])).tolist()
    [True, False, True]
    >>> B.rank, B.pivots, B.rows.tolist()
    (2, [0, 1], [[1, 0, 1], [0, 1, 0]])
    """

    chunk = 32  # rows settled row by row inside ``add``

    def __init__(self, dim: int, p: int) -> None:
        _check_prime_size(p)
        self.dim = dim
        self.p = p
        self.pivots: list[int] = []
        # (pivot columns, rows in [0, p), the rows as float64 centred residues)
        self._blocks: list[tuple[list[int], np.ndarray, np.ndarray]] = []
        self._rows: np.ndarray | None = np.zeros((0, dim), dtype=np.int64)

    @property
    def rank(self) -> int:
        return len(self.pivots)

    @property
    def rows(self) -> np.ndarray:
        """The basis in reduced row echelon form: ``rows[i]`` is 1 at ``pivots[i]``, 0 at the other pivots."""
        if self._rows is None:
            p = self.p
            blocks = [np.array(b[1]) for b in self._blocks]
            for j in range(len(blocks) - 1, 0, -1):  # clear the later pivots from the earlier blocks
                piv, N = self._blocks[j][0], blocks[j]
                for i in range(j):
                    blocks[i] = _submul_mod(blocks[i], blocks[i][:, piv], N, p)
            self._rows = np.vstack(blocks) if blocks else np.zeros((0, self.dim), dtype=np.int64)
        return self._rows

    def reduce(self, V: np.ndarray) -> np.ndarray:
        """Residues of the rows of ``V`` modulo the span of the basis (zero on the pivots)."""
        p = self.p
        V = np.asarray(V, dtype=np.int64) % p
        if not self._blocks:
            return V
        v = _to_centred(V, p)
        for piv, _, N in self._blocks:
            _submul_centred(v, v[:, piv], N, p)
        return _from_centred(v, p)

    def add(self, V: np.ndarray) -> np.ndarray:
        """Add the rows of ``V``; return a boolean array: which raised the rank."""
        p = self.p
        R = self.reduce(np.atleast_2d(V))
        raised, new_piv, N = _echelon_rows(R, p, self.chunk)
        if new_piv:
            self._blocks.append((new_piv, N, _to_centred(N, p)))
            self.pivots.extend(new_piv)
            self._rows = None
        return raised


def _echelon_rows(C: np.ndarray, p: int, leaf: int) -> tuple[np.ndarray, list[int], np.ndarray]:
    """Rows of ``C`` (int64 in ``[0, p)``) taken in order: ``(raised, pivots, N)``.

    A row raises the rank when it is not in the span of the rows before it; its
    pivot is the first non-zero entry of its residue (zero on the earlier
    pivots). ``N`` holds the raising rows' residues in reduced echelon form on
    ``pivots`` (``N[i]`` is 1 at ``pivots[i]``, 0 at the other pivots).
    Recursive on row halves: the top half's ``N`` reduces the bottom half with
    one exact product, then clears the bottom half's pivots with another; up
    to ``leaf`` rows are settled row by row, one vectorised step per row.
    ``C`` is overwritten.
    """
    b, dim = C.shape
    if b > leaf:
        h = b // 2
        r1, piv1, N1 = _echelon_rows(C[:h], p, leaf)
        bottom = C[h:]
        if piv1:
            bottom = _submul_mod(bottom, bottom[:, piv1], N1, p)
        r2, piv2, N2 = _echelon_rows(bottom, p, leaf)
        if piv1 and piv2:
            N1 = _submul_mod(N1, N1[:, piv2], N2, p)
        return np.concatenate([r1, r2]), piv1 + piv2, np.vstack([N1, N2])
    raised = np.zeros(b, dtype=bool)
    kept: list[int] = []
    piv: list[int] = []
    for i in range(b):
        v = C[i]  # the residue modulo the rows before it: zero on all earlier pivots
        nz = np.flatnonzero(v)
        if nz.size == 0:
            continue
        q = int(nz[0])
        v = (v * pow(int(v[q]), p - 2, p)) % p
        C[i] = v
        for idx in (np.arange(i + 1, b), np.array(kept, dtype=np.int64)):
            if idx.size:  # clear column q from the later rows and from the earlier kept rows
                hit = idx[C[idx, q] != 0]
                if hit.size:
                    C[hit] = (C[hit] - C[hit, q][:, None] * v[None, :]) % p
        kept.append(i)
        piv.append(q)
        raised[i] = True
    return raised, piv, C[kept]


def nullspace_rref_mod(A: np.ndarray, p: int) -> np.ndarray:
    """A basis of ``{x : A x = 0}`` mod ``p`` in reduced row echelon form (rows).

    The RREF basis is canonical, so the rational nullspace (when it has the
    same dimension) is recovered from it entry by entry by rational reconstruction.
    """
    import flint

    A = np.asarray(A, dtype=np.int64) % p
    n = A.shape[1]
    if A.shape[0] == 0:
        return np.eye(n, dtype=np.int64)
    M = flint.nmod_mat(A.tolist(), p)
    X, nullity = M.nullspace()
    if nullity == 0:
        return np.zeros((0, n), dtype=np.int64)
    basis = flint.nmod_mat([[int(X[i, j]) for i in range(n)] for j in range(nullity)], p)
    R, _ = basis.rref()
    return np.array([[int(R[i, j]) for j in range(n)] for i in range(nullity)], dtype=np.int64)


def rational_reconstruction(a: int, p: int) -> tuple[int, int] | None:
    """``(num, den)`` with ``num/den ≡ a (mod p)`` and ``|num|, den <= sqrt(p/2)``, or None.

    Examples
    --------
    >>> p = 16777213
    >>> rational_reconstruction(3 * pow(7, -1, p) % p, p)
    (3, 7)
    """
    a %= p
    bound = int((p // 2) ** 0.5)
    r0, r1 = p, a
    s0, s1 = 0, 1
    while r1 > bound:
        q = r0 // r1
        r0, r1 = r1, r0 - q * r1
        s0, s1 = s1, s0 - q * s1
    if s1 == 0 or abs(s1) > bound:
        return None
    if s1 < 0:
        r1, s1 = -r1, -s1
    return r1, s1


def splitmix_values(seed: int, a: np.ndarray, v: np.ndarray, p: int) -> np.ndarray:
    """The certificate's seeded values ``z(seed, a, v) mod p`` (broadcast over ``a``, ``v``).

    See ``docs/certificate-format.md``: SplitMix64's finaliser applied to
    ``seed*K0 + a*K1 + v*K2 + K3`` on unsigned 64-bit integers.
    """
    with np.errstate(over="ignore"):
        a = np.asarray(a, dtype=np.uint64)
        v = np.asarray(v, dtype=np.uint64)
        x = (
            np.uint64((seed * 0x9E3779B97F4A7C15 + 0xD1B54A32D192ED03) & _MASK64)
            + a * np.uint64(0xBF58476D1CE4E5B9)
            + v * np.uint64(0x94D049BB133111EB)
        )
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
        return (x % np.uint64(p)).astype(np.int64)
