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
