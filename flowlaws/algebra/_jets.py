"""Truncated Taylor (jet) arithmetic modulo a prime, vectorised with NumPy.

A jet with ``k`` nilpotent units ``ε_0..ε_{k-1}`` (``ε_i**2 = 0``) is an int64
array whose first axis has length ``2**k``: entry ``S`` (a bit mask) holds the
coefficient of ``Π_{i in S} ε_i``. Evaluating a polynomial map on
``θ + ε u`` gives ``F(θ) + ε DF(θ)·u`` exactly, which is how brackets of vector
fields are evaluated at a point without expanding any polynomial.

This module does not check that values lie in ``[0, p)``; callers reduce.

Examples
--------
>>> import numpy as np
>>> p = 16777213
>>> a = np.array([3, 1])      # 3 + ε
>>> b = np.array([5, 2])      # 5 + 2ε
>>> jet_mul(a, b, p).tolist() # 15 + 11ε
[15, 11]
"""

from __future__ import annotations

import numpy as np

from ._modular import matmul_mod

__all__ = ["jet_mul", "jet_matvec", "jet_outer", "subsets", "add_unit", "unit_part", "GradientWords"]


def subsets(mask: int) -> list[int]:
    """All sub-masks of ``mask`` (including 0 and ``mask``)."""
    out = []
    s = mask
    while True:
        out.append(s)
        if s == 0:
            return out
        s = (s - 1) & mask


_PAIRS: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
_VECTOR_MIN = 4  # jets with at least 2 units are combined in one vectorised operation ...
_VECTOR_BUDGET = 1 << 22  # ... when its gathered operands and product stay below this many entries


def _pairs(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All ``(S, T ^ S)`` with ``S ⊆ T`` for masks ``T < n``, grouped by ``T``: ``(S, R, starts)``."""
    if n not in _PAIRS:
        S_list, R_list, starts = [], [], []
        for T in range(n):
            starts.append(len(S_list))
            for S in subsets(T):
                S_list.append(S)
                R_list.append(T ^ S)
        _PAIRS[n] = (np.array(S_list), np.array(R_list), np.array(starts))
    return _PAIRS[n]


def _combine(A: np.ndarray, B: np.ndarray, p: int, op, vector_op=None) -> np.ndarray:
    n = A.shape[0]
    first = op(A[0], B[0])
    if vector_op is not None and n >= _VECTOR_MIN:
        S, R, starts = _pairs(n)
        if len(S) * max(first.size, A[0].size, B[0].size) <= _VECTOR_BUDGET:
            # one operation over the 3**k pairs of sub-masks, summed per mask (entries < p, at most 2**k per sum)
            prod = vector_op(A[S], B[R]) % p
            return np.add.reduceat(prod, starts, axis=0) % p
    out = np.empty((n,) + first.shape, dtype=np.int64)
    out[0] = first % p
    for T in range(1, n):
        acc = np.zeros(first.shape, dtype=np.int64)
        for S in subsets(T):
            acc += op(A[S], B[T ^ S]) % p
        out[T] = acc % p
    return out


def jet_mul(A: np.ndarray, B: np.ndarray, p: int) -> np.ndarray:
    """Elementwise product of two jets with the same number of units."""
    return _combine(A, B, p, np.multiply, np.multiply)


def jet_outer(A: np.ndarray, B: np.ndarray, p: int) -> np.ndarray:
    """Batched outer product: ``A[S][..., i] * B[S'][..., j]`` combined as jets."""
    outer = lambda a, b: a[..., :, None] * b[..., None, :]  # noqa: E731
    return _combine(A, B, p, outer, outer)


def _matvec(W: np.ndarray, h: np.ndarray, p: int) -> np.ndarray:
    # W: (Bw, o, i) with Bw in {1, B}; h: (B, i) -> (B, o)
    if W.shape[0] == 1:
        return matmul_mod(h, np.ascontiguousarray(W[0].T), p)
    return np.einsum("boi,bi->bo", W, h)


def _stacked_matvec(W: np.ndarray, h: np.ndarray) -> np.ndarray:
    # W: (S, Bw, o, i), h: (S, B, i) -> (S, B, o); exact in int64 while i < 2**15
    return np.matmul(W, h[..., None])[..., 0]


def jet_matvec(W: np.ndarray, h: np.ndarray, p: int) -> np.ndarray:
    """Jet of ``W @ h`` per batch element; ``W`` is ``(2**k, Bw, o, i)``, ``h`` is ``(2**k, B, i)``."""
    vector = _stacked_matvec if W.shape[-1] < (1 << 15) else None
    return _combine(W, h, p, lambda w, x: _matvec(w, x, p), vector)


def add_unit(J: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Jet with one more unit ``ε_k``: ``J + ε_k * direction`` (``direction`` has ``J``'s units)."""
    return np.concatenate([J, direction], axis=0)


def unit_part(J: np.ndarray) -> np.ndarray:
    """The coefficient of the newest unit, as a jet in the other units."""
    half = J.shape[0] // 2
    return J[half:]


class GradientWords:
    """Right-nested bracket words of gradient generators, evaluated on jets.

    A base for generator families with ``prime``, ``dim`` and
    ``gradient(theta, gens)`` (the fields ``∇F_a`` of the generators ``gens`` at a
    jet ``theta``): ``[X, Y] = DY·X − DX·Y`` comes from evaluating ``Y`` at
    ``θ + εX`` and ``X`` at ``θ + εY``.
    """

    prime: int
    dim: int

    def gradient(self, theta: np.ndarray, gens: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _field(self, gens: np.ndarray, theta: np.ndarray) -> np.ndarray:
        p = self.prime
        if gens.shape[1] == 1:
            return self.gradient(theta, gens[:, 0])
        X = self.gradient(theta, gens[:, 0])
        Y = self._field(gens[:, 1:], theta)
        theta_b = np.broadcast_to(theta, Y.shape) if theta.shape[1] != Y.shape[1] else theta
        DY_X = unit_part(self._field(gens[:, 1:], add_unit(theta_b, X)))
        DX_Y = unit_part(self.gradient(add_unit(theta_b, Y), gens[:, 0]))
        return (DY_X - DX_Y) % p

    def evaluate(self, words: list[tuple[int, ...]], point: np.ndarray) -> np.ndarray:
        """Values mod ``p`` of right-nested words at an integer point: ``(len(words), D)``."""
        out = np.zeros((len(words), self.dim), dtype=np.int64)
        theta = (np.asarray(point, dtype=np.int64) % self.prime)[None, None, :]
        by_length: dict[int, list[int]] = {}
        for i, w in enumerate(words):
            by_length.setdefault(len(w), []).append(i)
        for idx in by_length.values():
            for start in range(0, len(idx), 256):
                chunk = idx[start : start + 256]
                gens = np.array([words[i] for i in chunk], dtype=np.int64)
                out[chunk] = self._field(gens, theta)[0]
        return out
