"""The checker's own arithmetic against independent references (SymPy, NumPy, the spec's text)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sympy.polys.matrices import DomainMatrix

from flowlaws.verify.checker._modp import Echelon, WordEvaluator, is_prime, rank_mod_p
from flowlaws.verify.checker._network import HOMOGENEOUS, Network, z
from flowlaws.verify.checker._polys import Poly, bracket_field, field_at, field_directional_at, hessian_vector_at, inner

P = 16777213
X = sp.symbols("x0:4")

# -- polynomials -----------------------------------------------------------------------------
monomials = st.lists(st.tuples(st.integers(0, 3), st.integers(1, 3)), max_size=3).map(
    lambda pairs: tuple(sorted(dict(pairs).items()))
)
polys = st.dictionaries(monomials, st.integers(-20, 20), max_size=5)
points = st.lists(st.integers(-7, 7), min_size=4, max_size=4)


def to_sympy(terms):
    return sum((c * sp.prod([X[v] ** e for v, e in m]) for m, c in terms.items()), sp.Integer(0))


def from_sympy(expr):
    out = {}
    for monom, c in sp.Poly(expr, *X).terms():
        if c:
            out[tuple((i, e) for i, e in enumerate(monom) if e)] = int(c)
    return out


@settings(max_examples=60, deadline=None, database=None)
@given(polys, polys, points)
def test_poly_ring_operations_match_sympy(a, b, pt):
    pa, pb = Poly(a), Poly(b)
    sa, sb = to_sympy(a), to_sympy(b)
    assert (pa + pb).terms == from_sympy(sa + sb)
    assert (pa - pb).terms == from_sympy(sa - sb)
    assert (pa * pb).terms == from_sympy(sp.expand(sa * sb))
    for v in range(4):
        assert pa.diff(v).terms == from_sympy(sp.diff(sa, X[v]))
    assert pa.evaluate(pt) == sa.subs(dict(zip(X, pt)))
    grad = {v: g.evaluate(pt) for v, g in pa.gradient().items()}
    assert {v: x for v, x in grad.items() if x} == pa.gradient_at(pt)
    # mod p agrees with reducing the integer result
    assert (pa * pb).reduce(P) == pa.reduce(P) * pb.reduce(P)
    assert pa.reduce(P).evaluate(pt) == pa.evaluate(pt) % P


@settings(max_examples=60, deadline=None, database=None)
@given(polys, points, st.dictionaries(st.integers(0, 3), st.integers(-5, 5), max_size=4))
def test_hessian_vector_product_matches_the_gradient_field(a, pt, u):
    f = Poly(a)
    ref = field_directional_at(f.gradient(), pt, u)
    assert hessian_vector_at(f.terms, pt, u, None) == ref
    fm = f.reduce(P)
    assert hessian_vector_at(fm.terms, [x % P for x in pt], u, P) == {
        i: x % P for i, x in ref.items() if x % P
    }
    sf = to_sympy(a)
    hess = sp.hessian(sf, X).subs(dict(zip(X, pt)))
    vec = sp.Matrix([u.get(i, 0) for i in range(4)])
    assert {i: int(x) for i, x in enumerate(hess * vec) if x} == ref


def test_mixing_rings_is_an_error():
    with pytest.raises(ValueError, match="cannot mix"):
        Poly.variable(0) + Poly.variable(0, 7)


@settings(max_examples=40, deadline=None, database=None)
@given(st.lists(polys, min_size=4, max_size=4), st.lists(polys, min_size=4, max_size=4), points)
def test_bracket_of_fields_matches_sympy(u, v, pt):
    U = {i: Poly(t) for i, t in enumerate(u) if t}
    V = {i: Poly(t) for i, t in enumerate(v) if t}
    su = sp.Matrix([to_sympy(t) for t in u])
    sv = sp.Matrix([to_sympy(t) for t in v])
    ref = sv.jacobian(X) * su - su.jacobian(X) * sv
    got = bracket_field(U, V, None)
    for i in range(4):
        assert got.get(i, Poly()).terms == from_sympy(sp.expand(ref[i]))
    # the value at a point, without building the bracket polynomial (mod P)
    Um = {i: f.reduce(P) for i, f in U.items()}
    Vm = {i: f.reduce(P) for i, f in V.items()}
    gens = {0: Um, 1: Vm}
    ev = WordEvaluator(gens.__getitem__, [x % P for x in pt], P)
    expected = {i: int(ref[i].subs(dict(zip(X, pt)))) % P for i in range(4)}
    assert ev.value((0, 1)) == {i: x for i, x in expected.items() if x}
    assert inner(U, V).terms == from_sympy(sp.expand((su.T * sv)[0]))


def test_nested_words_match_sympy():
    phi = [X[0] * X[1] ** 2 - X[2], X[1] * X[2] + X[0] ** 3, X[3] * X[0]]
    fields = {a: sp.Matrix([sp.diff(f, x) for x in X]) for a, f in enumerate(phi)}

    def br(U, V):
        return V.jacobian(X) * U - U.jacobian(X) * V

    def sym(word):
        return fields[word] if isinstance(word, int) else br(sym(word[0]), sym(word[1]))

    potentials = {a: Poly(from_sympy(f), P) for a, f in enumerate(phi)}
    gens = {a: f.gradient() for a, f in potentials.items()}
    pt = [3, -2, 5, 7]
    ptm = [x % P for x in pt]
    ev = WordEvaluator(gens.__getitem__, ptm, P)
    # the same through the shortcuts check_certificate uses (values and HVPs from F_a)
    fast = WordEvaluator(
        gens.__getitem__, ptm, P,
        lambda a: potentials[a].gradient_at(ptm),
        lambda a, u: hessian_vector_at(potentials[a].terms, ptm, u, P),
    )
    words = [0, (0, 1), (1, (0, 2)), ((0, 1), (2, (1, 0))), (2, (1, (0, (2, 1)))), ((0, 1), 2)]
    for w in words:
        ref = sym(w).subs(dict(zip(X, pt)))
        expected = {i: int(x) % P for i, x in enumerate(ref) if int(x) % P}
        assert ev.value(w) == expected, w
        assert fast.value(w) == expected, w
    # polynomial of a bracket, then its value, agrees with the direct value
    assert field_at(ev.field((0, (1, 2))), ev.point) == ev.value((0, (1, 2)))


# -- primes and ranks ------------------------------------------------------------------------
def test_is_prime_matches_sympy_on_small_numbers():
    for n in range(-5, 20000):
        assert is_prime(n) == sp.isprime(n), n


@pytest.mark.parametrize(
    "n",
    [
        2047, 1373653, 25326001, 3215031751, 2152302898747, 3474749660383, 341550071728321,
        3825123056546413051, 318665857834031151167461, 3317044064679887385961979,
        561, 41041, 2**61 - 1, 2**64 - 59, 2**64 - 1, 2**81 - 1, 2**81 + 1,
    ],
)
def test_is_prime_on_strong_pseudoprimes_and_big_primes(n):
    assert is_prime(n) == sp.isprime(n)


def test_is_prime_refuses_numbers_beyond_its_proof():
    with pytest.raises(ValueError, match="too large"):
        is_prime(2**89 - 1)


@settings(max_examples=200, deadline=None, database=None)
@given(st.integers(3, 2**64 - 1))
def test_is_prime_matches_sympy_below_2_64(n):
    assert is_prime(n) == sp.isprime(n)


@settings(max_examples=60, deadline=None, database=None)
@given(st.lists(st.lists(st.integers(0, 6), min_size=5, max_size=5), min_size=1, max_size=6))
def test_rank_mod_p_matches_sympy(rows):
    p = 7
    vecs = [{i: x for i, x in enumerate(r) if x} for r in rows]
    ref = DomainMatrix([[sp.GF(p)(x) for x in r] for r in rows], (len(rows), 5), sp.GF(p)).rank()
    assert rank_mod_p(vecs, p) == ref
    assert rank_mod_p(vecs, p, 5) == ref  # dense rows
    e = Echelon(p)
    for v in vecs:
        e.add(v)
    assert e.rank == ref


def test_dense_and_sparse_elimination_agree_for_a_big_prime():
    p = 2**64 - 59
    rng = __import__("random").Random(3)
    for _ in range(20):
        n, d = rng.randint(1, 12), rng.randint(1, 10)
        base = [{i: rng.randrange(p) for i in range(d) if rng.random() < 0.7} for _ in range(3)]
        # combinations of 3 vectors: rank <= 3
        vecs = []
        for _ in range(n):
            cs = [rng.randrange(p) for _ in base]
            vecs.append({i: sum(c * b.get(i, 0) for c, b in zip(cs, base)) % p for i in range(d)})
        ref = DomainMatrix([[sp.GF(p)(v.get(i, 0)) for i in range(d)] for v in vecs], (n, d), sp.GF(p)).rank()
        assert rank_mod_p(vecs, p) == rank_mod_p(vecs, p, d) == ref <= 3


# -- the network of the spec -------------------------------------------------------------------
def z_numpy(seed, a, v, p):
    """The spec's z(), with NumPy's wrapping uint64 arithmetic (an independent implementation)."""
    u = np.uint64
    with np.errstate(over="ignore"):
        x = (u(seed) * u(0x9E3779B97F4A7C15) + u(a) * u(0xBF58476D1CE4E5B9)
             + u(v) * u(0x94D049BB133111EB) + u(0xD1B54A32D192ED03))
        x ^= x >> u(30)
        x = x * u(0xBF58476D1CE4E5B9)
        x ^= x >> u(27)
        x = x * u(0x94D049BB133111EB)
        x ^= x >> u(31)
    return int(x) % p


@settings(max_examples=200, deadline=None, database=None)
@given(st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1), st.integers(0, 10**6), st.sampled_from([3, P, 2**61 - 1, 2**64 - 59]))
def test_z_matches_a_uint64_implementation(seed, a, v, p):
    assert z(seed, a, v, p) == z_numpy(seed, a, v, p)


def naive_paths(layers, acts, bias):
    """Enumerate paths straight from the spec's words; returns {key: sympy polynomial}."""
    net = Network(layers, acts, bias)
    names = net.names()
    W = {n: sp.Symbol(n) for n in names}
    L = len(layers) - 1
    node = lambda l, j: sum(layers[:l]) + j  # noqa: E731
    source = sum(layers)
    groups: dict = {}

    def walk(start, l, j, mono, homog):
        # currently at neuron j of layer l with monomial mono
        if l == L:
            key = (start, tuple(sorted(homog)), node(L, j))
            groups[key] = groups.get(key, 0) + mono
            return
        for i in range(layers[l + 1]):
            h = homog
            if l + 1 < L and acts[l] in HOMOGENEOUS:
                h = homog + (node(l + 1, i),)
            walk(start, l + 1, i, mono * W[f"W{l + 1}[{i},{j}]"], h)

    for j in range(layers[0]):
        walk(j, 0, j, sp.Integer(1), ())
    if bias:
        for l in range(1, L + 1):
            for i in range(layers[l]):
                h = (node(l, i),) if l < L and acts[l - 1] in HOMOGENEOUS else ()
                walk(source, l, i, W[f"b{l}[{i}]"], h)
    return names, W, groups


ARCHS = [
    ((2, 2, 1), ("relu",), False),
    ((2, 2, 1), ("relu",), True),
    ((2, 2, 2), ("linear",), False),
    ((2, 3, 2), ("linear",), True),
    ((1, 2, 2, 1), ("relu", "linear"), True),
    ((2, 1, 2, 2), ("leaky_relu", "relu"), False),
    ((3, 2), (), True),
]


@pytest.mark.parametrize("layers, acts, bias", ARCHS)
def test_path_lifting_matches_a_naive_enumeration(layers, acts, bias):
    names, W, groups = naive_paths(layers, acts, bias)
    net = Network(layers, acts, bias)
    assert net.dim == len(names) == Network.count_parameters(layers, bias)
    coords = net.coordinates()
    syms = [W[n] for n in names]
    got = {key: sum((c * sp.prod([syms[v] ** e for v, e in m]) for m, c in f.terms.items()), sp.Integer(0))
           for key, f in coords}
    assert set(got) == set(groups)
    for key in groups:
        assert sp.expand(got[key] - groups[key]) == 0, key
    assert net.path_count() == sum(len(f) for _, f in coords)


@pytest.mark.parametrize("layers, acts, bias", ARCHS)
@pytest.mark.parametrize("seed, a", [(0, 0), (7, 3), (2**64 - 1, 2**63)])
def test_combination_is_the_keyed_sum(layers, acts, bias, seed, a):
    net = Network(layers, acts, bias)
    expected = Poly({}, P)
    for (start, hidden, out), phi in net.coordinates():
        c = z(seed, a, start, P) * z(seed, a, out, P)
        for v in hidden:
            c *= z(seed, a, v, P)
        expected = expected + phi.reduce(P) * c
    assert net.combination(seed, a, P) == expected


def test_network_rejects_inconsistent_activations():
    with pytest.raises(ValueError, match="activations"):
        Network((2, 2, 2), (), False)


def test_parameter_order_is_w1_b1_w2_b2():
    net = Network((2, 1, 1), ("relu",), True)
    assert net.names() == ["W1[0,0]", "W1[0,1]", "b1[0]", "W2[0,0]", "b2[0]"]
    assert net.source == 4
    assert [net.describe_key(k) for k, _ in net.coordinates()][-1].startswith("paths from the constant source")


def test_products_of_many_factors_evaluate_with_zero_coordinates():
    f = Poly({((0, 1), (1, 2), (2, 1)): 3})
    for pt in itertools.product([0, 1, -2], repeat=3):
        ref = sp.Poly(3 * X[0] * X[1] ** 2 * X[2], *X[:3])
        grad = {i: int(sp.diff(ref.as_expr(), X[i]).subs(dict(zip(X, pt)))) for i in range(3)}
        assert f.gradient_at(list(pt)) == {i: v for i, v in grad.items() if v}
        u = {0: 2, 2: -1}
        assert f.directional_at(list(pt), u) == 2 * grad[0] - grad[2]
