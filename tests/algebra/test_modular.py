"""Linear algebra mod p, jets and the seeded values, against slow references."""

import numpy as np
import flint
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowlaws.algebra._jets import jet_mul
from flowlaws.algebra._modular import (
    DEFAULT_PRIME,
    IncrementalBasis,
    matmul_mod,
    nullspace_rref_mod,
    rank_mod,
    rational_reconstruction,
    splitmix_values,
)

P = DEFAULT_PRIME


@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 6), st.integers(0, 2**32))
def test_matmul_mod_is_exact(n, k, m, seed):
    rng = np.random.default_rng(seed)
    A = rng.integers(0, P, size=(n, k))
    B = rng.integers(0, P, size=(k, m))
    ref = [[sum(int(A[i, t]) * int(B[t, j]) for t in range(k)) % P for j in range(m)] for i in range(n)]
    assert matmul_mod(A, B, P).tolist() == ref


def test_matmul_mod_long_inner_dimension():
    A = np.full((1, 200_000), P - 1, dtype=np.int64)
    B = np.full((200_000, 1), P - 1, dtype=np.int64)
    assert int(matmul_mod(A, B, P)[0, 0]) == (200_000 * (P - 1) ** 2) % P


@given(st.integers(1, 8), st.integers(1, 8), st.integers(0, 5), st.integers(0, 2**32))
def test_incremental_basis_rank_matches_flint(rows, cols, rank, seed):
    rng = np.random.default_rng(seed)
    rank = min(rank, rows, cols)
    A = (rng.integers(0, 5, size=(rows, rank)) @ rng.integers(0, 5, size=(rank, cols))) % P
    basis = IncrementalBasis(cols, P)
    raised = basis.add(A)
    expected = int(flint.nmod_mat(A.tolist(), P).rank()) if A.size else 0
    assert basis.rank == raised.sum() == expected == rank_mod(A, P)
    # the kept rows alone have full rank
    assert rank_mod(A[raised], P) == expected


def test_nullspace_rref():
    A = np.array([[1, 1, 0], [0, 1, 1]])
    N = nullspace_rref_mod(A, P)
    assert N.shape == (1, 3) and not (A @ N.T % P).any()
    assert N[0, 0] == 1


@given(st.integers(-2000, 2000), st.integers(1, 2000))
def test_rational_reconstruction(num, den):
    from math import gcd

    g = gcd(num, den)
    num, den = num // g, den // g
    assert rational_reconstruction(num * pow(den, -1, P) % P, P) == (num, den)


def _splitmix_reference(seed, a, v, p):
    M = 2**64
    x = (seed * 0x9E3779B97F4A7C15 + a * 0xBF58476D1CE4E5B9 + v * 0x94D049BB133111EB + 0xD1B54A32D192ED03) % M
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) % M
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) % M
    x ^= x >> 31
    return x % p


@given(st.integers(0, 2**40), st.integers(0, 2**45), st.integers(0, 10**6))
def test_splitmix_matches_the_documented_function(seed, a, v):
    assert int(splitmix_values(seed, np.array([a]), np.array([v]), P)[0]) == _splitmix_reference(seed, a, v, P)


def test_jet_product_rule():
    # (3 + ε0 + 2ε1)(5 + 4ε0 + 7ε1) = 15 + 17ε0 + 31ε1 + (1·7 + 2·4)ε0ε1
    a = np.array([3, 1, 2, 0])
    b = np.array([5, 4, 7, 0])
    assert jet_mul(a, b, P).tolist() == [15, 17, 31, 15]


def test_prime_size_is_checked():
    from flowlaws.errors import InvalidArgument

    with pytest.raises(InvalidArgument):
        IncrementalBasis(3, 2**31 - 1)


# --- issue 7 kernels: the BLAS dense rank and the blocked IncrementalBasis against the old ones ---

import importlib.util
import pathlib

from flowlaws.algebra import _modular


def _old_kernels():
    path = pathlib.Path(__file__).resolve().parents[2] / "benchmarks" / "baseline_kernels.py"
    spec = importlib.util.spec_from_file_location("baseline_kernels", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


OLD = _old_kernels()


def _flint_rank(A):
    A = np.asarray(A, dtype=np.int64) % P
    return int(flint.nmod_mat(A.tolist(), P).rank()) if A.size else 0


def _low_rank(rng, m, n, r, small):
    if r == 0 or m == 0 or n == 0:
        return np.zeros((m, n), dtype=np.int64)
    hi = 3 if small else P
    return matmul_mod(rng.integers(0, hi, size=(m, r)), rng.integers(0, hi, size=(r, n)), P)


def _structured(rng, m, n, variant):
    """Random matrices with the shapes that stress pivoting: low rank, zero and repeated rows/columns."""
    r = int(rng.integers(0, min(m, n) + 1)) if min(m, n) else 0
    A = _low_rank(rng, m, n, r, variant % 2 == 0) if variant % 4 else rng.integers(-3 * P, 3 * P, size=(m, n))
    if m and n and variant % 3 == 0:
        A[rng.integers(0, m, size=3)] = 0
        A[:, rng.integers(0, n, size=3)] = 0
    if m > 3 and variant % 5 == 0:
        A[1] = A[0]
        A[2] = 2 * A[0]
    if n > 10 and variant % 7 == 0:
        A[:, : n // 2] = 0
    if m > 10 and variant % 11 == 0:
        A[: m // 2] = 0
    if n > 10 and variant % 13 == 0:
        A[:, 1::2] = A[:, ::2][:, : A[:, 1::2].shape[1]]
    return A


@pytest.mark.parametrize("leaf", [1, 2, 3, 8, 64])
def test_blas_rank_matches_flint_on_small_panels(leaf, monkeypatch):
    # small panel widths drive the recursion (and the residue search in the panels) on small matrices
    monkeypatch.setattr(_modular, "_LEAF", leaf)
    rng = np.random.default_rng(leaf)
    for variant in range(60):
        m, n = (int(v) for v in rng.integers(0, 45, size=2))
        A = _structured(rng, m, n, variant)
        assert _modular._rank_blas(A, P) == _flint_rank(A), (leaf, m, n, variant)


def test_blas_rank_matches_flint_on_medium_matrices():
    rng = np.random.default_rng(7)
    for variant in range(24):
        m, n = (int(v) for v in rng.integers(1, 330, size=2))
        A = _structured(rng, m, n, variant)
        assert _modular._rank_blas(A, P) == _flint_rank(A), (m, n, variant)
        assert rank_mod(A, P) == OLD.rank_mod(A, P)


@pytest.mark.parametrize("shape", [(0, 5), (5, 0), (0, 0), (1, 1), (1, 7), (7, 1), (1, 300), (300, 1), (300, 300)])
def test_rank_mod_degenerate_shapes(shape):
    rng = np.random.default_rng(0)
    for A in (np.zeros(shape, dtype=np.int64), rng.integers(0, P, size=shape), np.full(shape, P, dtype=np.int64)):
        assert rank_mod(A, P) == _flint_rank(A)
        if A.size:
            assert _modular._rank_blas(A, P) == _flint_rank(A)


def test_rank_mod_blas_route_rank_deficient():
    # above the threshold: full rank, one short, half rank, a zero block
    rng = np.random.default_rng(3)
    n = _modular.BLAS_RANK_THRESHOLD + 40
    for r in (n, n - 1, n // 2):
        A = _low_rank(rng, n, n + 5, r, small=False)
        assert rank_mod(A, P) == _flint_rank(A) == r
    A = rng.integers(0, P, size=(n, n))
    A[:, 100:200] = 0
    A[50:60] = A[:10]
    assert rank_mod(A, P) == _flint_rank(A)
    assert rank_mod(A.T, P) == _flint_rank(A)


def test_rank_mod_large_prime_uses_flint():
    # the float kernels need p < 2**24: a larger prime goes to python-flint
    p = 2**31 - 1
    rng = np.random.default_rng(1)
    A = rng.integers(0, p, size=(260, 260))
    A[-1] = (A[0] + A[1]) % p
    assert rank_mod(A, p) == int(flint.nmod_mat(A.tolist(), p).rank()) == 259


def test_submul_centred_is_exact_at_the_bound():
    # worst case magnitudes: every centred entry at ±(p-1)/2 over a long inner dimension
    h = (P - 1) // 2
    k = 1000
    x = np.full((2, k), float(h))
    y = np.full((k, 3), float(-h))
    c = np.full((2, 3), float(h))
    _modular._submul_centred(c, x, y, P)
    expected = (h + k * h * h) % P
    assert all(int(v) % P == expected for v in c.ravel())
    assert np.abs(c).max() <= P // 2 + 2


@pytest.mark.parametrize("chunk", [1, 2, 5, 32])
def test_incremental_basis_matches_the_row_by_row_echelon(chunk, monkeypatch):
    monkeypatch.setattr(IncrementalBasis, "chunk", chunk)
    rng = np.random.default_rng(chunk)
    for case in range(40):
        dim = int(rng.integers(1, 70))
        ref, basis = OLD.IncrementalBasis(dim, P), IncrementalBasis(dim, P)
        for _ in range(int(rng.integers(1, 5))):
            m = int(rng.integers(1, 60))
            V = _structured(rng, m, dim, case)
            assert basis.add(V).tolist() == ref.add(V).tolist()
            assert basis.rank == ref.rank
            W = rng.integers(0, P, size=(3, dim))
            assert np.array_equal(basis.reduce(W), ref.reduce(W))
        assert basis.pivots == ref.pivots
        assert np.array_equal(basis.rows, ref.rows)


def test_incremental_basis_large_batch_matches():
    rng = np.random.default_rng(11)
    dim = 400
    ref, basis = OLD.IncrementalBasis(dim, P), IncrementalBasis(dim, P)
    batches = [_low_rank(rng, 150, dim, 90, small=False), rng.integers(0, P, size=(200, dim)),
               rng.integers(0, P, size=(128, dim))]
    for V in batches:
        assert basis.add(V).tolist() == ref.add(V).tolist()
    assert basis.rank == ref.rank == dim
    assert basis.pivots == ref.pivots and np.array_equal(basis.rows, ref.rows)
