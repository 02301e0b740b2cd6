"""The engine kernels as they were before issue 7's kernel work (for comparisons only).

``rank_mod`` (python-flint ``nmod_mat`` from nested lists) and the row-by-row
``IncrementalBasis``, copied verbatim from ``flowlaws/algebra/_modular.py``.
``benchmarks/kernels.py`` times them against the current kernels in the same
process, and ``tests/algebra/test_modular.py`` checks the current kernels give
the same answers.
"""

from __future__ import annotations

import numpy as np

from flowlaws.algebra._modular import matmul_mod


def rank_mod(A: np.ndarray, p: int) -> int:
    """Rank of an integer matrix modulo the prime ``p`` (python-flint ``nmod_mat``)."""
    import flint

    A = np.asarray(A, dtype=np.int64) % p
    if A.size == 0:
        return 0
    return int(flint.nmod_mat(A.tolist(), p).rank())


class IncrementalBasis:
    """A growing set of vectors mod ``p`` kept in reduced row echelon form (row by row)."""

    def __init__(self, dim: int, p: int) -> None:
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
