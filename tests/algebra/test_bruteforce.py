"""Cross-checks of the engine against the slow, obvious computation with SymPy.

The brute force brackets *all pairs* of fields up to a depth, symbolically, and
takes the exact rank over Q at random rational points (the generic rank is the
maximum over points, reached at almost every point).
"""

import random

import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

import flowlaws as fl


def brute_force_trace_rank(phi: list, xs: list, *, depth: int = 4, points: int = 2, seed: int = 0) -> int:
    fields = [sympy.Matrix([sympy.diff(f, x) for x in xs]) for f in phi]
    fields = [F for F in fields if any(c != 0 for c in F)]
    algebra = list(fields)
    rng = random.Random(seed)

    def bracket(X, Y):
        return Y.jacobian(xs) * X - X.jacobian(xs) * Y

    def rank_at_points(vectors):
        if not vectors:
            return 0
        best = 0
        for _ in range(points):
            pt = {x: sympy.Rational(rng.randint(-50, 50), rng.randint(1, 9)) for x in xs}
            M = sympy.Matrix([[c.subs(pt) for c in V] for V in vectors])
            best = max(best, M.rank())
        return best

    rank = rank_at_points(algebra)
    frontier = list(algebra)
    for _ in range(depth):
        new = []
        for X in algebra:
            for Y in frontier:
                Z = sympy.expand(bracket(X, Y))
                if any(c != 0 for c in Z):
                    new.append(Z)
        algebra = algebra + new
        frontier = new
        r = rank_at_points(algebra)
        if r == rank or r == len(xs):
            rank = r
            break
        rank = r
    return rank


def monomial_maps(max_vars: int = 4):
    @st.composite
    def build(draw):
        D = draw(st.integers(1, max_vars))
        xs = sympy.symbols(f"x0:{D}")
        n_coords = draw(st.integers(1, 2))
        phi = []
        for _ in range(n_coords):
            terms = draw(st.integers(1, 2))
            expr = sympy.Integer(0)
            for _ in range(terms):
                coef = draw(st.integers(-3, 3).filter(bool))
                exps = draw(st.lists(st.integers(0, 2), min_size=D, max_size=D))
                expr += coef * sympy.Mul(*[x**e for x, e in zip(xs, exps)])
            phi.append(expr)
        return list(xs), phi

    return build()


@given(monomial_maps())
def test_count_matches_brute_force(case):
    xs, phi = case
    if all(sympy.Poly(f, *xs).is_ground for f in phi):
        return  # constant φ: refused as input (tested elsewhere)
    model = fl.models.from_polynomials(phi, variables=[str(x) for x in xs])
    res = fl.analyze(model, max_degree=2)
    assert res.count == len(xs) - brute_force_trace_rank(phi, xs)
    fl.verify.check_certificate(res.certificate)


@settings(max_examples=12)
@given(
    st.lists(st.integers(1, 3), min_size=3, max_size=4),
    st.sampled_from(["linear", "relu"]),
    st.booleans(),
)
def test_small_networks_match_brute_force(widths, activation, bias):
    model = fl.models.mlp(widths, activation=activation, bias=bias)
    if model.dim > 8:
        return
    xs = [sympy.Symbol(name) for name in model.variables]
    phi = model.phi
    rank = brute_force_trace_rank(phi, list(xs), depth=3)
    res = fl.analyze(model)
    assert res.count == model.dim - rank
    assert res.complete
