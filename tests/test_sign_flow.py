"""Sign-GD θ' = −sign(∇L) and the Adam-type flow θ' = −P(t)∇L: local laws near a point, certified and checked.

Cross-checks: the sign directions against brute-force enumeration of sign patterns
sign(Σ c_i ∇φ_i(θ)) at the point and at nearby points of the cell; the laws along
exact sign-GD steps on rationals; tampered certificates.
"""

from __future__ import annotations

import copy
import itertools
import random
from fractions import Fraction

import flint
import pytest

import flowlaws as fl
from flowlaws.errors import CertificateError, InvalidArgument


def _sign(x) -> int:
    return int(bool(x > 0)) - int(bool(x < 0))


def _gradients(model, point):
    """∇φ_i at a rational point, from the model's SymPy φ (an independent route)."""
    import sympy

    syms = [sympy.Symbol(v) for v in model.variables]
    sub = dict(zip(syms, [sympy.Rational(Fraction(x).numerator, Fraction(x).denominator) for x in point]))
    return [[sympy.diff(f, x).subs(sub) for x in syms] for f in model.phi]


def _brute_sign_rank(model, point, samples=4000, seed=0) -> int:
    """Rank over Q of the sign patterns of Σ c_i ∇φ_i(θ) over many random integer c (zeros allowed)."""
    G = [[int(x) for x in row] for row in _gradients(model, point)]
    rng = random.Random(seed)
    pats = set()
    for k in range(samples):
        c = [rng.randint(-(10 ** (k % 4)), 10 ** (k % 4)) for _ in G]
        pats.add(tuple(_sign(sum(ci * g[j] for ci, g in zip(c, G))) for j in range(model.dim)))
    return flint.fmpz_mat([list(p) for p in pats]).rank()  # exact over Z, independent of the engine


@pytest.mark.parametrize("n,r,m", [(1, 1, 1), (2, 1, 1), (1, 1, 2), (2, 1, 2), (2, 2, 2), (3, 2, 2), (2, 2, 1), (1, 2, 2),
                                   (2, 3, 2)])
def test_factorization_under_sign_gd(n, r, m):
    model = fl.models.factorization(n, r, m)
    res = fl.analyze(model, flow="sign")
    assert res.complete
    # r = 1: a law only for n = m = 1 (|u| − |v|); for r ≥ 2 a one-row factor keeps |u_ik| − |u_il| (rows ∥)
    expected = 2 * r - 1 if n == m == 1 else (n * (r - 1) if m == 1 else (m * (r - 1) if n == 1 else 0))
    assert res.count == expected and (r > 1 or res.count == (1 if n == m == 1 else 0))
    point = res.certificate["point"]
    assert res.rank == _brute_sign_rank(model, point)
    report = fl.verify.check_certificate(res.certificate)
    assert report["proved"]["exact"] and [s["step"] for s in report["steps"]] == ["sign_directions", "sign_laws", "conclusion"]


@pytest.mark.parametrize("r", [2, 3])
def test_scalar_phi_keeps_all_differences_of_absolute_values(r):
    # n = m = 1: φ = Σ u_k v_k is a scalar, every coordinate moves at unit speed: D − 1 laws |θ_a| − |θ_b|
    model = fl.models.factorization(1, r, 1)
    res = fl.analyze(model, flow="sign")
    assert res.complete and res.count == model.dim - 1 == len(res.laws)
    fl.verify.check_certificate(res.certificate)


@pytest.mark.parametrize("seed", range(6))
def test_abs_u_minus_abs_v_in_every_orthant(seed):
    model = fl.models.factorization(1, 1, 1)
    res = fl.analyze(model, flow="sign", seed=seed)
    point = res.certificate["point"]
    (law,) = res.laws
    coef = {model.variables[v]: c for c, ((v, _),) in law.terms}
    V, U = point  # variables are (V[0,0], U[0,0])
    assert coef == {"V[0,0]": _sign(V), "U[0,0]": -_sign(U)}       # sign(v0) v − sign(u0) u = |v| − |u|
    assert any("= |V[0,0]| - |U[0,0]|" in note for note in res.notes)


def test_laws_exact_along_sign_gd_steps_and_nearby_patterns():
    """Exact sign-GD steps θ ← θ − η sign(∇L) on rationals: the law is constant inside the cell, and no sign
    pattern at nearby points of the cell breaks it."""
    model = fl.models.factorization(1, 2, 1)   # φ = u1 v1 + u2 v2, 3 laws
    res = fl.analyze(model, flow="sign", seed=3)
    point = [Fraction(x) for x in res.certificate["point"]]
    laws = [{v: c for c, ((v, _),) in law.terms} for law in res.laws]

    def value(h, th):
        return sum(c * th[v] for v, c in h.items())

    th, eta = list(point), Fraction(1, 64)
    rng = random.Random(0)
    start = [value(h, th) for h in laws]
    for _ in range(40):
        y = Fraction(rng.randint(-9, 9))
        G = _gradients(model, th)
        phi = float(sum(g * x for g, x in zip(G[0], th)) / 2)   # φ is bilinear: φ = ½⟨∇φ, θ⟩
        dl = Fraction(phi).limit_denominator() - y                # ℓ = (φ − y)²/2, ∇L = (φ − y)∇φ
        th = [x - eta * _sign(dl * g) for x, g in zip(th, G[0])]
        if any(_sign(a) != _sign(b) for a, b in zip(th, point)):
            break
        assert [value(h, th) for h in laws] == start
    # brute force: every sign pattern at nearby points of the cell is orthogonal to the laws
    for delta in itertools.product([Fraction(-1, 3), Fraction(1, 5)], repeat=2):
        near = [x + delta[j % 2] for j, x in enumerate(point)]
        for c in range(-3, 4):
            s = [_sign(c * g) for g in _gradients(model, near)[0]]
            assert all(sum(coef * s[v] for v, coef in h.items()) == 0 for h in laws)


def test_adam_type_flow_counts_the_parameters_phi_ignores():
    model = fl.models.from_polynomials(["x0*x1", "x1*x2"], variables=["x0", "x1", "x2", "x3"])
    res = fl.analyze(model, flow="adam")
    assert res.complete and res.count == 1 and [str(law) for law in res.laws] == ["x3"]
    fl.verify.check_certificate(res.certificate)
    for spec in ("factorization:1x1x1", "factorization:2x2x2", "relu:2x3x1"):
        res = fl.analyze(fl.models.parse(spec), flow="adam")
        assert res.complete and res.count == 0 and res.rank == res.dim
        fl.verify.check_certificate(res.certificate)


def test_sign_fixed_parameter_is_a_law():
    model = fl.models.from_polynomials(["x0*x1"], variables=["x0", "x1", "x2"])
    res = fl.analyze(model, flow="sign")
    assert res.complete and res.count == 2 and {str(law) for law in res.laws} >= {"x2"}
    fl.verify.check_certificate(res.certificate)


def _mutations(cert):
    sign = cert["flow"]["name"] == "sign"
    out = [
        lambda c: c.__setitem__("rank", c["rank"] + 1),
        lambda c: c.__setitem__("count", c["count"] + 1),
        lambda c: c["bounds"].__setitem__("upper", c["bounds"]["upper"] - 1),
        lambda c: c.__setitem__("complete", not c["complete"]),
        lambda c: c["flow"].__setitem__("name", "adam" if sign else "sign"),
        lambda c: c.__setitem__("extra", 1),
    ]
    if sign and cert["directions"]:
        out += [lambda c: c["directions"][0].__setitem__(0, -c["directions"][0][0]),
                lambda c: c["directions"][0].__setitem__(0, 0),
                lambda c: c["directions"].clear(),
                lambda c: c["point"].__setitem__(0, c["point"][0] + 1)]
    if cert["laws"]:
        out += [lambda c: c["laws"].append(copy.deepcopy(c["laws"][0]))]
        if cert["laws"][0]["kind"] == "parallel":
            out += [lambda c: c["laws"][0].__setitem__("sign", -c["laws"][0]["sign"]),
                    lambda c: c["laws"][0]["linear"][1].__setitem__(1, -c["laws"][0]["linear"][1][1]),
                    lambda c: c["laws"][0].__setitem__("kind", "fixed")]
    if not sign:
        out += [lambda c: c["directions"].append(c["directions"][0])]
    return out


@pytest.mark.parametrize("spec,flow", [("factorization:1x1x1", "sign"), ("factorization:2x1x1", "sign"),
                                       ("factorization:1x1x1", "adam")])
def test_tampered_sign_certificates_are_rejected(spec, flow):
    res = fl.analyze(fl.models.parse(spec), flow=flow)
    for mutate in _mutations(res.certificate):
        cert = copy.deepcopy(res.certificate)
        mutate(cert)
        with pytest.raises(CertificateError):
            fl.verify.check_certificate(cert)


def test_sign_flow_options_refused():
    model = fl.models.factorization(1, 1, 1)
    for kw in ({"tau": 1}, {"weight_decay": 1}, {"metric": "nmf"}):
        with pytest.raises(InvalidArgument, match="sign"):
            fl.analyze(model, flow="sign", **kw)


def test_cli_sign(tmp_path):
    from flowlaws.cli import main

    out = tmp_path / "sign.json"
    assert main(["analyze", "factorization:1x1x1", "--flow", "sign", "--certificate", str(out)]) == 0
    assert main(["check", str(out)]) == 0


def test_load_sign_certificate(tmp_path):
    res = fl.analyze(fl.models.factorization(1, 2, 1), flow="sign")
    path = str(tmp_path / "s.json")
    res.save(path)
    back = fl.load(path)
    assert back.flow.name == "sign" and (back.count, back.complete) == (res.count, res.complete)
    assert [str(h) for h in back.laws] == [str(h) for h in res.laws]


def test_bounds_when_the_directions_fall_short(monkeypatch):
    """Without sampled directions only the trivial upper bound D is proved: the result says bounds, and checks."""
    import functools

    import flowlaws._sign as sign_module
    from flowlaws.engine.sign_flow import sign_analysis

    monkeypatch.setattr(sign_module, "sign_analysis", functools.partial(sign_analysis, tries=0))
    res = fl.analyze(fl.models.factorization(1, 1, 1), flow="sign")
    assert not res.complete and res.bounds == (1, 2)
    assert any("between 1 and 2" in note for note in res.notes)
    report = fl.verify.check_certificate(res.certificate)
    assert report["proved"] == {"upper_bound": 2, "lower_bound": 1, "exact": False}
