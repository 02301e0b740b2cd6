"""Exact linear algebra modulo a prime, vectorised with NumPy.

Values are ``int64`` arrays with entries in ``[0, p)``. Products of two such
entries stay below ``2**48`` for the default prime (< 2**24), so sums of up to
``2**15`` products are exact in ``int64``; longer dot products go through
float64 BLAS on 12-bit limbs, each partial product exact below ``2**53``.

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


def rank_mod(A: np.ndarray, p: int) -> int:
    """Rank of an integer matrix modulo the prime ``p`` (python-flint ``nmod_mat``)."""
    import flint

    A = np.asarray(A, dtype=np.int64) % p
    if A.size == 0:
        return 0
    return int(flint.nmod_mat(A.tolist(), p).rank())


class IncrementalBasis:
    """A growing set of vectors mod ``p`` kept in reduced row echelon form.

    ``add(V)`` reduces a batch of vectors against the basis and tells which of
    them raised the rank (in order: a vector raises the rank when it is not in
    the span of the basis and of the batch vectors before it).

    Examples
    --------
    >>> import numpy as np
    >>> B = IncrementalBasis(3, 16777213)
    >>> B.add(np.array([[1, 0, 1], [2, 0, 2], [0, 1, 0]])).tolist()
    [True, False, True]
    >>> B.rank
    2
    """

    def __init__(self, dim: int, p: int) -> None:
        _check_prime_size(p)
        self.dim = dim
        self.p = p
        self.rows = np.zeros((0, dim), dtype=np.int64)
        self.pivots: list[int] = []

    @property
    def rank(self) -> int:
        return len(self.pivots)

    def reduce(self, V: np.ndarray) -> np.ndarray:
        """Residues of the rows of ``V`` modulo the span of the basis."""
        V = np.asarray(V, dtype=np.int64) % self.p
        if self.pivots:
            V = (V - matmul_mod(V[:, self.pivots], self.rows, self.p)) % self.p
        return V

    def add(self, V: np.ndarray) -> np.ndarray:
        """Add the rows of ``V``; return a boolean array: which raised the rank."""
        p = self.p
        V = self.reduce(np.atleast_2d(V))
        raised = np.zeros(V.shape[0], dtype=bool)
        new_rows: list[np.ndarray] = []
        new_pivots: list[int] = []
        for i in range(V.shape[0]):
            v = V[i]
            for row, piv in zip(new_rows, new_pivots):
                if v[piv]:
                    v = (v - v[piv] * row) % p
            nz = np.flatnonzero(v)
            if nz.size == 0:
                continue
            piv = int(nz[0])
            v = (v * int(pow(int(v[piv]), p - 2, p))) % p
            for j, row in enumerate(new_rows):
                if row[piv]:
                    new_rows[j] = (row - row[piv] * v) % p
            new_rows.append(v)
            new_pivots.append(piv)
            raised[i] = True
        if new_rows:
            N = np.array(new_rows, dtype=np.int64)
            if self.pivots:
                self.rows = (self.rows - matmul_mod(self.rows[:, new_pivots], N, p)) % p
            self.rows = np.vstack([self.rows, N])
            self.pivots.extend(new_pivots)
        return raised


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
