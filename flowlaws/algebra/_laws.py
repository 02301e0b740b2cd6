"""Exact polynomial conservation laws of bounded degree.

A law ``h`` satisfies ``⟨∇h, χ⟩ ≡ 0`` for every generator field ``χ``. With an
unknown coefficient per monomial this is linear. The search

1. splits the monomials into classes of a ``(Z/2)^D`` grading under which
   every field is homogeneous (``⟨∇h_c, χ⟩`` lands in class ``c + class(χ)``, so
   each class's part of a law is a law): small independent blocks;
2. per block, samples linear conditions ``Σ_m c_m ⟨∇m, χ⟩(θ) = 0`` at random
   points mod p, takes the nullspace in reduced echelon form and recovers
   rational coefficients by rational reconstruction;
3. **verifies every candidate exactly** with the verifier it is given (a
   polynomial identity over Z). Sampling only proposes; nothing unverified is
   returned.

Laws are sparse integer polynomials ``{((var, exp), ...): coefficient}``.
"""

from __future__ import annotations

from fractions import Fraction
from itertools import combinations_with_replacement
from math import comb, gcd, lcm
from typing import Callable, Iterator, Sequence

import numpy as np

from ..errors import BudgetExceeded
from ._gf2 import GF2Basis
from ._modular import IncrementalBasis, nullspace_rref_mod, rational_reconstruction
from ._polynomial_fields import pairing, sparse_gradient

__all__ = [
    "LawSearch",
    "FieldVerifier",
    "grading_from_fields",
    "jacobian_rows",
    "independent_subset",
    "to_flint",
]

SparsePoly = dict[tuple[tuple[int, int], ...], int]


def _parity(mono: Sequence[int]) -> int:
    mask = 0
    for v, e in enumerate(mono):
        if e & 1:
            mask ^= 1 << v
    return mask


def grading_from_fields(fields: list[dict]) -> GF2Basis:
    """Relations of the finest ``(Z/2)^D`` grading making every field homogeneous.

    A field ``χ = Σ_e χ_e ∂_e`` has class ``parity(monomial of χ_e) + e`` for
    each of its terms; the differences of these within one field span the relations.
    """
    basis = GF2Basis()
    for X in fields:
        ref = None
        for e, comp in X.items():
            for mono in comp.monoms():
                cls = _parity(mono) ^ (1 << e)
                if ref is None:
                    ref = cls
                else:
                    basis.add(cls ^ ref)
    return basis


def to_flint(h: SparsePoly, ctx, index: dict[int, int] | None = None):
    """A sparse polynomial as a python-flint polynomial of ``ctx`` (variables renumbered by ``index``)."""
    n = ctx.nvars()
    terms = {}
    for mono, c in h.items():
        e = [0] * n
        for v, k in mono:
            e[v if index is None else index[v]] += k
        terms[tuple(e)] = c
    return ctx.from_dict(terms)


class FieldVerifier:
    """Exact law check against explicit sparse fields ``{variable: fmpz_mpoly}``."""

    def __init__(self, fields: list[dict], ctx) -> None:
        self.fields = fields
        self.ctx = ctx
        self._users: dict[int, list[int]] = {}
        for i, X in enumerate(fields):
            for j in X:
                self._users.setdefault(j, []).append(i)

    def __call__(self, h: SparsePoly) -> bool:
        if not h:
            return False
        grad = sparse_gradient(to_flint(h, self.ctx))
        for i in sorted({i for v in grad for i in self._users.get(v, [])}):
            value = pairing(grad, self.fields[i])
            if value is not None and not value.is_zero():
                return False
        return True


class LawSearch:
    """Search for laws degree by degree; every returned law passed ``verifier``.

    Parameters
    ----------
    dim : int
        Number of variables.
    sampler : callable
        ``sampler(count, rng) -> (points, values)``: ``count`` random points
        mod ``p`` (``count × D``) and the value at each of a random element of
        the generators' span.
    prime : int
    homogeneous : bool
        Whether every field is homogeneous, so each degree can be searched alone.
    grading : GF2Basis
        Relations of a ``(Z/2)^D`` grading under which every field is homogeneous.
    verifier : callable
        ``verifier(h) -> bool``, exact.
    max_monomials : int
        The stated limit on unknown coefficients in non-trivial blocks.
    weights : list of int, optional
        Degree weights of the variables under which every field is
        (weighted-)homogeneous, when ``homogeneous`` is False: monomials are
        then also split by weighted degree (Nesterov: ``t`` and ``θ`` weigh 1, ``θ'`` 0).
    groups : list of int, optional
        A group (for networks: the weight layer) per variable. Laws supported
        on one group, then on two consecutive groups, are looked for first:
        they are cheaper to verify and read better. The full block's laws
        complete the basis.
    """

    def __init__(
        self,
        dim: int,
        sampler: Callable[[int, np.random.Generator], tuple[np.ndarray, np.ndarray]],
        *,
        prime: int,
        homogeneous: bool,
        grading: GF2Basis,
        verifier: Callable[[SparsePoly], bool],
        max_monomials: int = 60_000,
        seed: int = 0,
        groups: Sequence[int] | None = None,
        weights: Sequence[int] | None = None,
    ) -> None:
        self.dim = dim
        self.sampler = sampler
        self.prime = prime
        self.homogeneous = homogeneous
        self.grading = grading
        self.verifier = verifier
        self.max_monomials = max_monomials
        self.rng = np.random.default_rng(seed)
        self._samples: tuple[np.ndarray, np.ndarray] | None = None
        self.rejected = 0
        self.weights = list(weights) if weights is not None else None
        self.groups = list(groups) if groups is not None else None
        if self.groups is not None:
            values = sorted(set(self.groups))
            self.windows = [{g} for g in values] + [{a, b} for a, b in zip(values, values[1:])]
        else:
            self.windows = []

    # -- classes of monomials ---------------------------------------------------------
    def _blocks(self, degrees: Sequence[int]) -> tuple[list[list[tuple[int, ...]]], Iterator[np.ndarray]]:
        """Non-trivial blocks, and the singleton monomials in chunks (arrays ``M × d``)."""
        D = self.dim
        if not self.grading and list(degrees) == [2]:
            # no relations: x_i^2 share class 0, every x_i x_j (i < j) is alone
            squares = [[(i, i) for i in range(D)]] if D > 1 else []

            def pairs() -> Iterator[np.ndarray]:
                for i in range(D - 1):
                    j = np.arange(i + 1, D)
                    yield np.stack([np.full(j.shape, i), j], axis=1)

            if D == 1:
                return [], iter([np.array([[0, 0]])])
            return squares, pairs()
        total = sum(comb(D + d - 1, d) for d in degrees)
        if total > self.max_monomials:
            raise BudgetExceeded(
                f"laws of degree {max(degrees)} in D={D} variables need {total} unknown coefficients, "
                f"over max_monomials={self.max_monomials}"
            )
        reps = [self.grading.reduce(1 << i) for i in range(D)]
        w = self.weights
        blocks: dict[tuple[int, int], list[tuple[int, ...]]] = {}
        for d in degrees:
            for mono in combinations_with_replacement(range(D), d):
                cls = 0
                for v in mono:
                    cls ^= reps[v]
                blocks.setdefault((cls, sum(w[v] for v in mono) if w else 0), []).append(mono)
        if w and not self.homogeneous:
            top = max(degrees)  # lower total degrees were searched at earlier steps
            blocks = {k: b for k, b in blocks.items() if any(len(m) == top for m in b)}
        multi = [b for b in blocks.values() if len(b) > 1]
        singles = [b[0] for b in blocks.values() if len(b) == 1]
        by_len: dict[int, list] = {}
        for m in singles:
            by_len.setdefault(len(m), []).append(m)
        return multi, iter([np.array(ms, dtype=np.int64) for ms in by_len.values()])

    # -- sampled conditions ----------------------------------------------------------
    def _get_samples(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        have = 0 if self._samples is None else self._samples[0].shape[0]
        if have < count:
            pts, vals = self.sampler(count - have, self.rng)
            if self._samples is None:
                self._samples = (pts, vals)
            else:
                self._samples = (np.vstack([self._samples[0], pts]), np.vstack([self._samples[1], vals]))
        return self._samples[0][:count], self._samples[1][:count]

    def _rows(self, idx: np.ndarray, pts: np.ndarray, vals: np.ndarray) -> np.ndarray:
        """``⟨∇m, χ⟩(θ)`` mod p for monomials ``idx`` (``M × d`` variable indices) per sample."""
        p = self.prime
        T = pts[:, idx]  # (R, M, d)
        X = vals[:, idx]
        d = idx.shape[1]
        acc = np.zeros(T.shape[:2], dtype=np.int64)
        for pos in range(d):
            term = X[:, :, pos] % p
            for other in range(d):
                if other != pos:
                    term = (term * T[:, :, other]) % p
            acc = (acc + term) % p
        return acc

    def _block_rows(self, monos: list[tuple[int, ...]], pts: np.ndarray, vals: np.ndarray) -> np.ndarray:
        out = np.zeros((pts.shape[0], len(monos)), dtype=np.int64)
        by_deg: dict[int, list[int]] = {}
        for k, m in enumerate(monos):
            by_deg.setdefault(len(m), []).append(k)
        for ks in by_deg.values():
            out[:, ks] = self._rows(np.array([monos[k] for k in ks], dtype=np.int64), pts, vals)
        return out

    # -- candidates -------------------------------------------------------------------
    @staticmethod
    def _sparse(monos: Sequence[Sequence[int]], coeffs: Sequence[int]) -> SparsePoly:
        h: SparsePoly = {}
        for m, c in zip(monos, coeffs):
            if c:
                exps: dict[int, int] = {}
                for v in m:
                    exps[int(v)] = exps.get(int(v), 0) + 1
                h[tuple(sorted(exps.items()))] = int(c)
        return h

    def _reconstruct(self, row: np.ndarray) -> list[int] | None:
        fracs = []
        for a in row.tolist():
            if a == 0:
                fracs.append(Fraction(0))
                continue
            rr = rational_reconstruction(int(a), self.prime)
            if rr is None:
                return None
            fracs.append(Fraction(*rr))
        den = lcm(*(f.denominator for f in fracs))
        ints = [int(f * den) for f in fracs]
        g = 0
        for v in ints:
            g = gcd(g, v)
        ints = [v // g for v in ints] if g else ints
        first = next((v for v in ints if v), 0)
        return [-v for v in ints] if first < 0 else ints

    def laws_of_degree(self, degree: int) -> list[SparsePoly]:
        """Verified laws whose monomials have degree ``degree`` (or ``≤ degree``
        when the fields are not homogeneous). Candidates that fail the exact
        check are counted in ``self.rejected``."""
        degrees = [degree] if self.homogeneous else list(range(1, degree + 1))
        multi, singles = self._blocks(degrees)
        laws: list[SparsePoly] = []
        pts, vals = self._get_samples(4)
        for chunk in singles:
            rows = self._rows(chunk, pts, vals)
            for k in np.flatnonzero(~rows.any(axis=0)):
                h = self._sparse([chunk[k]], [1])
                if self.verifier(h):
                    laws.append(h)
                else:
                    self.rejected += 1
        for monos in multi:
            laws += self._block_laws(monos)
        return laws

    def laws_among(self, monos: list[tuple[int, ...]]) -> list[SparsePoly]:
        """Verified laws spanned by the given monomials (tuples of variable indices), one block.

        For laws whose shape is known in advance, e.g. the Noether charges ``t³·θᵀAv``
        of Nesterov, which the degree ladder reaches only at total degree 5.
        """
        if len(monos) > self.max_monomials:
            return []
        return self._block_laws(monos)

    def _block_laws(self, monos: list[tuple[int, ...]]) -> list[SparsePoly]:
        """The block's verified laws, resampling (up to four times, more points each) while candidates fail."""
        extra, found, bad = 16, [], 0
        for _attempt in range(4):
            pts, vals = self._get_samples(len(monos) + extra)
            found, bad = self._solve_block(monos, self._block_rows(monos, pts, vals))
            if bad == 0:
                break
            extra *= 4
        self.rejected += bad
        return found

    def _window_columns(self, monos: list[tuple[int, ...]]) -> list[list[int]]:
        out = []
        for window in self.windows:
            cols = [k for k, m in enumerate(monos) if all(self.groups[v] in window for v in m)]
            if cols and len(cols) < len(monos):
                out.append(cols)
        return out

    def _solve_block(self, monos: list[tuple[int, ...]], A: np.ndarray) -> tuple[list[SparsePoly], int]:
        """Verified laws spanning the block's sampled nullspace (windowed ones first)."""
        p = self.prime
        full = nullspace_rref_mod(A, p)
        if full.shape[0] == 0:
            return [], 0
        span = IncrementalBasis(len(monos), p)
        found: list[SparsePoly] = []
        bad = 0
        candidates: list[tuple[list[int] | None, np.ndarray]] = []
        for cols in self._window_columns(monos):
            for row in nullspace_rref_mod(A[:, cols], p):
                candidates.append((cols, row))
        candidates += [(None, row) for row in full]
        for cols, row in candidates:
            if span.rank == full.shape[0]:
                break
            vec = row
            if cols is not None:
                vec = np.zeros(len(monos), dtype=np.int64)
                vec[cols] = row
            if not span.reduce(vec[None, :]).any():
                continue
            ints = self._reconstruct(row)
            sub = monos if cols is None else [monos[k] for k in cols]
            h = self._sparse(sub, ints) if ints is not None else None
            if h and self.verifier(h):
                found.append(h)
                span.add(vec[None, :])
            else:
                bad += 1
        return found, bad


def jacobian_rows(laws: list[SparsePoly], point: Sequence[int], prime: int, dim: int) -> np.ndarray:
    """The Jacobian of sparse laws at an integer point, mod ``prime``."""
    J = np.zeros((len(laws), dim), dtype=np.int64)
    pt = [int(v) % prime for v in point]
    for i, h in enumerate(laws):
        row: dict[int, int] = {}
        for mono, c in h.items():
            vals = [pow(pt[v], e, prime) for v, e in mono]
            for k, (v, e) in enumerate(mono):
                term = c * e * pow(pt[v], e - 1, prime)
                for k2, val in enumerate(vals):
                    if k2 != k:
                        term = term * val % prime
                row[v] = (row.get(v, 0) + term) % prime
        for v, val in row.items():
            J[i, v] = val
    return J


def independent_subset(laws: list[SparsePoly], point: Sequence[int], prime: int, dim: int,
                       basis: IncrementalBasis | None = None):
    """Greedily keep the laws whose gradients at ``point`` raise the rank mod ``prime``.

    Rank mod p is at most the rank over Q, so the kept laws are functionally independent.
    """
    basis = basis or IncrementalBasis(dim, prime)
    if not laws:
        return [], basis
    raised = basis.add(jacobian_rows(laws, point, prime, dim))
    return [h for h, r in zip(laws, raised) if r], basis
