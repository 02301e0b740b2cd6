"""Explicit polynomial vector fields over Z with python-flint.

A field is a tuple of ``fmpz_mpoly`` (one component per coordinate) in one
context. This is the route for small models, the exact law checks and the
cross-checks of the point-evaluation route.

Examples
--------
>>> import flint
>>> ctx = flint.fmpz_mpoly_ctx.get(("x", 2))
>>> x0, x1 = ctx.gens()
>>> X = (x1, ctx.from_dict({}))            # x1 ∂/∂x0
>>> Y = (ctx.from_dict({}), x0)            # x0 ∂/∂x1
>>> [str(c) for c in bracket(X, Y)]        # DY·X − DX·Y
['-x0', 'x1']
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["gradient", "sparse_gradient", "bracket", "evaluate_field", "PolynomialGenerators", "pairing", "balanced_sum"]


def gradient(f, nvars: int) -> tuple:
    """The gradient field of a polynomial, one component per variable."""
    zero = f.context().from_dict({})
    degs = f.degrees()
    return tuple(f.derivative(i) if degs[i] else zero for i in range(nvars))


def sparse_gradient(f) -> dict[int, object]:
    """The non-zero components of the gradient: ``{variable: ∂f/∂x_variable}``."""
    return {i: f.derivative(i) for i, d in enumerate(f.degrees()) if d}


def bracket(X: Sequence, Y: Sequence) -> tuple:
    """The Lie bracket ``[X, Y] = DY·X − DX·Y`` of two polynomial fields."""
    n = len(X)
    ctx = X[0].context()
    zero = ctx.from_dict({})
    out = []
    for k in range(n):
        acc = zero
        for j in range(n):
            if not X[j].is_zero():
                dY = Y[k].derivative(j)
                if not dY.is_zero():
                    acc = acc + X[j] * dY
            if not Y[j].is_zero():
                dX = X[k].derivative(j)
                if not dX.is_zero():
                    acc = acc - Y[j] * dX
        out.append(acc)
    return tuple(out)


def balanced_sum(polys: list):
    """Sum of polynomials by a balanced tree (linear-time in the total size, not quadratic)."""
    if not polys:
        return None
    while len(polys) > 1:
        polys = [polys[i] + polys[i + 1] if i + 1 < len(polys) else polys[i] for i in range(0, len(polys), 2)]
    return polys[0]


def pairing(grad_h: dict, X: dict):
    """``⟨∇h, X⟩`` as a polynomial, for sparse fields ``{variable: component}`` (None when no overlap)."""
    return balanced_sum([dh * X[j] for j, dh in grad_h.items() if j in X])


def _eval_mod(f, point: Sequence[int], p: int) -> int:
    return int(f(*point)) % p if not f.is_zero() else 0


def evaluate_field(X: Sequence, point: Sequence[int], p: int) -> np.ndarray:
    """Values of a field at an integer point, reduced mod ``p``."""
    return np.array([_eval_mod(c, point, p) for c in X], dtype=np.int64)


def _jacobian_mod(X: Sequence, point: Sequence[int], p: int) -> np.ndarray:
    n = len(X)
    J = np.zeros((n, n), dtype=np.int64)
    for k, c in enumerate(X):
        if c.is_zero():
            continue
        for j in range(n):
            d = c.derivative(j)
            if not d.is_zero():
                J[k, j] = _eval_mod(d, point, p)
    return J


class PolynomialGenerators:
    """A finite list of explicit polynomial generator fields, words evaluated mod ``p``.

    Words are right-nested tuples of generator indices. The value of
    ``(i,) + w`` is ``J_w(θ) X_i(θ) − J_i(θ) Y_w(θ)``: only the inner word
    ``w`` needs its polynomial, which is memoised.
    """

    def __init__(self, fields: Sequence[Sequence], *, prime: int, homogeneous: bool = False) -> None:
        self.fields = [tuple(f) for f in fields]
        self.finite_generators = len(self.fields)
        self.dim = len(self.fields[0]) if self.fields else 0
        self.prime = prime
        self.homogeneous = homogeneous
        self._polys: dict[tuple[int, ...], tuple] = {(i,): f for i, f in enumerate(self.fields)}
        self._cache: dict[tuple, np.ndarray] = {}

    def word_polynomial(self, word: tuple[int, ...]) -> tuple:
        """The field of a right-nested word, as polynomials (memoised)."""
        if word not in self._polys:
            self._polys[word] = bracket(self.fields[word[0]], self.word_polynomial(word[1:]))
        return self._polys[word]

    def _value(self, word: tuple[int, ...], point: tuple[int, ...]) -> np.ndarray:
        key = ("v", word, point)
        if key not in self._cache:
            p = self.prime
            if len(word) == 1:
                val = evaluate_field(self.fields[word[0]], point, p)
            else:
                X = self._value(word[:1], point)
                Y = self._value(word[1:], point)
                JY = self._jacobian(word[1:], point)
                JX = self._jacobian(word[:1], point)
                val = ((JY @ X) % p - (JX @ Y) % p) % p
            self._cache[key] = val
        return self._cache[key]

    def _jacobian(self, word: tuple[int, ...], point: tuple[int, ...]) -> np.ndarray:
        key = ("j", word, point)
        if key not in self._cache:
            self._cache[key] = _jacobian_mod(self.word_polynomial(word), point, self.prime)
        return self._cache[key]

    def evaluate(self, words: list[tuple[int, ...]], point: np.ndarray) -> np.ndarray:
        """Values mod ``p`` of right-nested words at an integer point: ``(len(words), D)``."""
        pt = tuple(int(v) for v in point)
        out = np.zeros((len(words), self.dim), dtype=np.int64)
        for i, w in enumerate(words):
            out[i] = self._value(tuple(w), pt)
        return out
