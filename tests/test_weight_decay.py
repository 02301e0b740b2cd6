"""Gradient flow with weight decay θ' = −∇L − λθ: laws H(sθ) with s = e^{λt}, certified and checked.

Cross-checks: the count against a brute-force Lie rank of explicit SymPy fields
on (s, θ); each law against the two fields symbolically; an ODE where the
decayed law stays constant while the undecayed quantity does not.
"""

from __future__ import annotations

import copy
import random
from fractions import Fraction

import numpy as np
import pytest
import sympy

import flowlaws as fl
from flowlaws.errors import CertificateError, DomainError, InvalidArgument


def _lie_rank(xs, chi0, gens, depth: int, seed: int) -> int:
    """Rank over Q, at a random rational point, of χ_0, the generators and their brackets up to ``depth``."""
    X = sympy.Matrix(xs)

    def br(a, b):
        return sympy.expand(b.jacobian(X) * a - a.jacobian(X) * b)

    rng = random.Random(seed)
    pt = {x: sympy.Rational(rng.randint(-9, 9) or 1, rng.randint(1, 5)) for x in xs}
    layer, fields = [chi0, *gens], [chi0, *gens]
    for _ in range(depth):
        layer = [br(a, b) for a in [chi0, *gens] for b in layer]
        fields += layer
    return sympy.Matrix.hstack(*[f.subs(pt) for f in fields]).rank()


def _phase_rank(model, lam: Fraction, depth: int = 4, seed: int = 0) -> int:
    """Brute force: rank at a random rational point of the Lie algebra of χ_0 = λ(s, −θ), (0, ∇φ_i), over Q."""
    xs = sympy.symbols(f"z0:{model.dim + 1}")
    s, th = xs[0], xs[1:]
    chi0 = sympy.Matrix([lam * s, *[-lam * t for t in th]])
    phis = [e.subs({sympy.Symbol(v): t for v, t in zip(model.variables, th)}, simultaneous=True) for e in model.phi]
    gens = [sympy.Matrix([0, *[sympy.diff(f, t) for t in th]]) for f in phis]
    return _lie_rank(xs, chi0, gens, depth, seed)


@pytest.mark.parametrize("n,r,m", [(1, 1, 1), (2, 1, 1), (1, 2, 1), (2, 2, 1)])
def test_factorization_count_matches_brute_force_and_gradient_flow(n, r, m):
    model = fl.models.factorization(n, r, m)
    lam = Fraction(1, 10)
    res = fl.analyze(model, weight_decay=lam)
    plain = fl.analyze(model)
    assert res.complete and res.count == plain.count
    assert res.dim == model.dim + 1 and res.rank == plain.rank + 1
    assert res.count == model.dim + 1 - _phase_rank(model, lam)
    for law in res.laws:
        assert law.time_rate == 2 * lam  # a quadratic law: e^{2λt} H(θ)
    report = fl.verify.check_certificate(res.certificate)
    assert report["steps"][-1]["step"] == "weight_decay" and report["proved"]["exact"]
    assert report["dim"] == res.dim and report["rank"] == res.rank


def test_laws_annihilated_by_the_phase_fields_symbolically():
    model = fl.models.mlp([2, 2, 1], activation="relu")
    lam = Fraction(3, 7)
    res = fl.analyze(model, weight_decay=lam)
    assert res.complete and res.count == 2 == model.dim + 1 - _phase_rank(model, lam, depth=2)
    th = [sympy.Symbol(v) for v in model.variables]
    t = sympy.Symbol("t")
    for law in res.laws:
        h = law.to_sympy()  # exp(2λt)·H(θ); with s = e^{λt}: d/dt = λ s ∂_s
        H = sympy.simplify(h * sympy.exp(-law.time_rate * t))
        assert law.time_rate == 2 * lam and not H.has(t)
        drift = sympy.diff(h, t) - lam * sum(x * sympy.diff(h, x) for x in th)   # χ_0 h
        assert sympy.simplify(drift) == 0
        for phi in model.phi:
            assert sympy.expand(sum(sympy.diff(H, x) * sympy.diff(phi, x) for x in th)) == 0


def test_relu_mlp_weight_decay_certificate_and_tampering():
    res = fl.analyze(fl.models.parse("relu+bias:2x3x2"), weight_decay="1/10")
    assert res.complete and res.count == 3 and all(law.time_rate == Fraction(1, 5) for law in res.laws)
    assert "exp(1/5*t)" in str(res.laws[0])
    fl.verify.check_certificate(res.certificate)
    for mutate in (
        lambda c: c["weight_decay"].__setitem__("lambda", "1/5"),             # a tampered λ: the rates disagree
        lambda c: c["weight_decay"].__setitem__("lambda", "0"),
        lambda c: c["weight_decay"].__setitem__("lambda", "-1/10"),
        lambda c: c["weight_decay"].__setitem__("lambda", 0.1),
        lambda c: c["weight_decay"]["laws"][0].__setitem__("rate", "1/10"),
        lambda c: c["weight_decay"]["laws"][0]["polynomial"][0].__setitem__(0, "2"),
        lambda c: c["weight_decay"].__setitem__("rank", c["weight_decay"]["rank"] + 1),
        lambda c: c["weight_decay"].__setitem__("homogeneous", False),
        lambda c: c["weight_decay"]["laws"].pop(),
        lambda c: c["weight_decay"].__setitem__("extra", 1),
    ):
        cert = copy.deepcopy(res.certificate)
        mutate(cert)
        with pytest.raises(CertificateError):
            fl.verify.check_certificate(cert)


def test_non_homogeneous_phi_keeps_the_laws_whose_components_are_laws():
    # linear layers with biases: the coordinate w2*b1 + b2 mixes degrees 2 and 1; the law w1² + b1² − w2² survives
    model = fl.models.parse("linear+bias:1x1x1")
    res = fl.analyze(model, weight_decay=1)
    assert res.complete and res.count == 1 == model.dim + 1 - _phase_rank(model, Fraction(1))
    assert res.laws[0].time_rate == 2
    report = fl.verify.check_certificate(res.certificate)
    assert report["proved"]["exact"]
    # φ = x0*x1 + x2: the brute-force count is 1 (x0² − x1²); the upper bound of gradient flow is 2
    model = fl.models.from_polynomials(["x0*x1 + x2"], variables=["x0", "x1", "x2"])
    res = fl.analyze(model, weight_decay=1)
    assert res.bounds == (1, 2) and not res.complete and str(res.laws[0]) == "exp(2*t)*(x0^2 - x1^2)"
    assert model.dim + 1 - _phase_rank(model, Fraction(1)) == 1
    assert any("not homogeneous" in n for n in res.notes)
    fl.verify.check_certificate(res.certificate)
    for mutate in (lambda c: c["weight_decay"].__setitem__("homogeneous", True),
                   lambda c: c["weight_decay"]["laws"][0].__setitem__("law", 1),
                   lambda c: c["weight_decay"]["laws"].append(copy.deepcopy(c["weight_decay"]["laws"][0]))):
        cert = copy.deepcopy(res.certificate)
        mutate(cert)
        with pytest.raises(CertificateError):
            fl.verify.check_certificate(cert)


def test_zero_is_plain_flow_and_bad_values_refused():
    model = fl.models.factorization(1, 1, 1)
    assert fl.analyze(model, weight_decay=0).certificate.keys() == fl.analyze(model).certificate.keys()
    assert "weight_decay" not in fl.analyze(model, weight_decay="0").certificate
    for bad, err in ((0.1, DomainError), (float("nan"), DomainError), (-1, InvalidArgument), ("-1/2", InvalidArgument),
                     (True, InvalidArgument), ("abc", DomainError)):
        with pytest.raises(err, match="weight_decay"):
            fl.analyze(model, weight_decay=bad)
    with pytest.raises(InvalidArgument, match="nesterov"):
        fl.analyze(model, flow="nesterov", weight_decay=1)
    with pytest.raises(InvalidArgument, match="euclidean"):
        fl.analyze(fl.models.nmf(1, 1, 1), weight_decay=1)


def test_ode_decayed_law_constant_undecayed_quantity_not():
    from flowlaws.dynamics import gradient_flow

    lam = 0.3
    rng = np.random.default_rng(0)
    model = fl.models.factorization(3, 2, 2)
    syms = [sympy.Symbol(v) for v in model.variables]
    loss = sum((phi - float(y)) ** 2 for phi, y in zip(model.phi, rng.normal(size=len(model.phi)))) / 2
    grad_L = sympy.lambdify(syms, [sympy.diff(loss, x) for x in syms])

    def grad(th):
        return np.array(grad_L(*th)) + lam * th   # ∇L + λθ

    traj = gradient_flow(grad, rng.normal(size=model.dim), t_end=3.0, n_eval=31)
    res = fl.analyze(model, weight_decay="3/10")
    names = model.variables
    law = res.laws[0]
    H = sympy.lambdify([sympy.Symbol(v) for v in names], sympy.simplify(law.to_sympy() * sympy.exp(-law.time_rate * sympy.Symbol("t"))))
    undecayed = np.array([H(*p) for p in traj.params])
    decayed = np.exp(float(law.time_rate) * traj.times) * undecayed
    assert np.max(np.abs(decayed - decayed[0])) < 1e-8
    assert np.max(np.abs(undecayed - undecayed[0])) > 1e-2


def test_cli_weight_decay(tmp_path, capsys):
    from flowlaws.cli import main

    out = tmp_path / "wd.json"
    assert main(["analyze", "linear:2x2x2", "--weight-decay", "1/10", "--certificate", str(out)]) == 0
    assert main(["check", str(out)]) == 0
    assert main(["analyze", "linear:2x2x2", "--weight-decay", "-1"]) == 2
    assert "weight_decay" in capsys.readouterr().err


# -- momentum with weight decay: θ'' + τθ' = −∇L − λθ, drift (τ s, v, −τ v − λθ) on (s, θ, v) -------------------
def _momentum_phase_rank(model, tau: Fraction, lam: Fraction, depth: int = 4) -> int:
    """Brute force: the Lie rank of the drift and the lifts (0, 0, ∇φ_i) at a random rational point, over Q."""
    D = model.dim
    xs = sympy.symbols(f"z0:{2 * D + 1}")
    s, th, v = xs[0], xs[1 : D + 1], xs[D + 1 :]
    if tau:
        chi0 = sympy.Matrix([tau * s, *v, *[-tau * vi - lam * ti for vi, ti in zip(v, th)]])
    else:
        chi0 = sympy.Matrix([1, *v, *[-lam * ti for ti in th]])
    phis = [e.subs({sympy.Symbol(n): t for n, t in zip(model.variables, th)}, simultaneous=True) for e in model.phi]
    gens = [sympy.Matrix([0] * (D + 1) + [sympy.diff(f, t) for t in th]) for f in phis]
    return _lie_rank(xs, chi0, gens, depth, seed=1)


@pytest.mark.parametrize("spec,tau", [("factorization:1x1x1", 1), ("factorization:1x2x1", 1), ("factorization:1x2x1", 0),
                                      ("linear:1x2x1", "1/2"), ("relu:1x2x1", 1)])
def test_momentum_weight_decay_count_matches_brute_force(spec, tau):
    model = fl.models.parse(spec)
    lam = Fraction(1, 3)
    res = fl.analyze(model, flow="momentum", tau=tau, weight_decay=lam)
    assert res.flow.weight_decay == lam and res.certificate["flow"]["weight_decay"] == "1/3"
    assert res.count == 2 * model.dim + 1 - _momentum_phase_rank(model, Fraction(tau), lam)
    assert res.complete
    report = fl.verify.check_certificate(res.certificate)
    assert report["flow"]["weight_decay"] == "1/3" and report["proved"]["exact"]


def test_momentum_weight_decay_law_depends_on_lambda_and_tampering_is_caught():
    # x1 is free: x1'' + x1' + x1/3 = 0 conserves exp(t)(x1² + 3 x1 x1' + 3 x1'²); the other law is not polynomial
    model = fl.models.from_polynomials(["x0"], variables=["x0", "x1"])
    res = fl.analyze(model, flow="momentum", tau=1, weight_decay="1/3")
    assert res.count == 2 == 2 * model.dim + 1 - _momentum_phase_rank(model, Fraction(1), Fraction(1, 3))
    assert [str(law) for law in res.laws] == ["exp(t)*(x1^2 + 3*x1*x1' + 3*x1'^2)"]
    fl.verify.check_certificate(res.certificate)
    assert fl.verify.is_conserved(model, res.laws[0], flow="momentum", tau=1, weight_decay="1/3")
    assert not fl.verify.is_conserved(model, res.laws[0], flow="momentum", tau=1)
    for bad in ("1/2", "0", "-1/3", 0.5):
        cert = copy.deepcopy(res.certificate)
        cert["flow"]["weight_decay"] = bad
        with pytest.raises(CertificateError):
            fl.verify.check_certificate(cert)


def test_momentum_weight_decay_ode():
    from flowlaws.dynamics import heavy_ball_flow

    lam, tau = 1 / 3, 1.0
    rng = np.random.default_rng(1)
    traj = heavy_ball_flow(lambda th: np.array([th[0] - 1.0, 0.0]) + lam * th, rng.normal(size=2), tau=tau, t_end=4.0,
                           n_eval=21, v0=rng.normal(size=2))
    x, dx = traj.params[:, 1], traj.velocities[:, 1]
    q = x**2 + 3 * x * dx + 3 * dx**2
    law = np.exp(tau * traj.times) * q
    assert np.max(np.abs(law - law[0])) < 1e-8 and np.max(np.abs(q - q[0])) > 1e-1


def test_is_conserved_with_weight_decay():
    model = fl.models.factorization(2, 2, 1)
    res = fl.analyze(model, weight_decay="1/10")
    plain = fl.analyze(model).laws[0]
    assert all(fl.verify.is_conserved(model, law, weight_decay="1/10") for law in res.laws)
    assert not fl.verify.is_conserved(model, res.laws[0], weight_decay="1/5")    # exp(2λt) needs this λ
    assert not fl.verify.is_conserved(model, plain, weight_decay="1/10")        # H(θ(t)) itself decays
    assert fl.verify.is_conserved(model, plain, weight_decay=0)
    with pytest.raises(fl.verify.NotConserved, match="weight decay 1/10"):
        fl.verify.assert_conserved(model, plain, weight_decay="1/10")
    with pytest.raises(DomainError, match="weight_decay"):
        fl.verify.is_conserved(model, plain, weight_decay=0.1)


def test_load_keeps_weight_decay(tmp_path):
    for res in (fl.analyze(fl.models.factorization(2, 2, 2), weight_decay="1/10"),
                fl.analyze(fl.models.factorization(1, 2, 1), flow="momentum", weight_decay="1/10")):
        path = str(tmp_path / "c.json")
        res.save(path)
        back = fl.load(path)
        assert back.flow == res.flow and back.flow.weight_decay == Fraction(1, 10)
        assert (back.dim, back.rank, back.count, back.complete) == (res.dim, res.rank, res.count, res.complete)
        assert [str(h) for h in back.laws] == [str(h) for h in res.laws]


def test_relu_mlp_ode_decayed_law_constant():
    """A ReLU MLP trained by gradient flow with weight decay: each per-neuron law exp(2λt)·H stays constant."""
    from flowlaws.dynamics import gradient_flow

    model = fl.models.mlp([2, 3, 1], activation="relu")
    res = fl.analyze(model, weight_decay="1/4")
    lam, rng = 0.25, np.random.default_rng(2)
    X, y = rng.normal(size=(8, 2)), rng.normal(size=8)
    names = model.variables
    idx = {n: i for i, n in enumerate(names)}
    W1 = [[idx[f"W1[{j},{k}]"] for k in range(2)] for j in range(3)]
    W2 = [idx[f"W2[0,{j}]"] for j in range(3)]

    def grad(th):
        A, a = th[W1], th[W2]
        Z = X @ A.T
        H = np.maximum(Z, 0)
        r = H @ a - y
        g = np.zeros_like(th)
        g[W2] = H.T @ r / len(y)
        g[np.array(W1)] = ((r[:, None] * (Z > 0) * a).T @ X) / len(y)
        return g + lam * th

    traj = gradient_flow(grad, rng.normal(size=model.dim), t_end=2.0, n_eval=21)
    t = sympy.Symbol("t")
    syms = [sympy.Symbol(v) for v in names]
    for law in res.laws:
        H = sympy.lambdify(syms, sympy.simplify(law.to_sympy() * sympy.exp(-law.time_rate * t)))
        undecayed = np.array([H(*p) for p in traj.params])
        decayed = np.exp(float(law.time_rate) * traj.times) * undecayed
        assert np.max(np.abs(decayed - decayed[0])) < 1e-8 < 1e-2 < np.max(np.abs(undecayed - undecayed[0]))
