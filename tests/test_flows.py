"""Momentum, Nesterov and NMF flows: the MF rows of DESIGN section 4, time-dependent laws."""

import json
from fractions import Fraction

import numpy as np
import pytest
import sympy

import flowlaws as fl
from flowlaws.errors import DomainError, InvalidArgument


def mf_two_layer(n, r, m):
    N = n + m
    return r * (r - 1) // 2 if r <= 2 * N else 2 * N * r - N * (2 * N + 1)


def checked(res):
    assert res.complete
    report = fl.verify.check_certificate(json.loads(json.dumps(res.certificate)))
    assert report["proved"]["exact"] is True
    return res


@pytest.mark.parametrize("n,r,m", [(1, 1, 2), (1, 2, 2), (2, 3, 1), (1, 4, 2), (1, 8, 2)])
def test_momentum_two_layer_linear(n, r, m):
    # N = 3: r = 8 > 2N = 6 is above the threshold (27 laws, not r(r-1)/2 = 28)
    res = checked(fl.analyze(fl.models.factorization(n, r, m), flow="momentum", tau=1))
    assert res.dim == 2 * (n + m) * r + 1
    assert res.count == mf_two_layer(n, r, m)


@pytest.mark.parametrize("widths", [[2, 2, 2, 2], [1, 3, 2, 1], [2, 3, 2]])
def test_momentum_deep_linear(widths):
    res = checked(fl.analyze(fl.models.mlp(widths, activation="linear"), flow="momentum"))
    assert res.count == sum(w * (w - 1) // 2 for w in widths[1:-1])


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("widths", [[2, 2, 1], [2, 3, 2], [1, 2, 2, 1]])
def test_momentum_relu_has_no_law(widths, bias):
    res = checked(fl.analyze(fl.models.mlp(widths, activation="relu", bias=bias), flow="momentum", tau="1/2"))
    assert res.count == 0 and res.rank == res.dim


@pytest.mark.parametrize("r", [1, 2, 3])
def test_nmf(r):
    model = fl.models.nmf(2, r, 2)
    gf = checked(fl.analyze(model))
    assert gf.count == r
    for law in gf.laws:  # Σ_i U_ik − Σ_j V_jk: linear, coefficients ±1
        assert law.degree == 1 and {abs(c) for c, _ in law.terms} == {1}
    mf = checked(fl.analyze(model, flow="momentum", tau=1))
    assert mf.count == 0


def test_time_dependent_law_of_uvt():
    model = fl.models.factorization(2, 2, 2)
    res = checked(fl.analyze(model, flow="momentum", tau=1))
    (law,) = res.laws
    text = str(law)
    assert text.startswith("exp(t)*(") and "U[0,0]*U[0,1]'" in text
    expr = law.to_sympy()
    t = sympy.Symbol("t")
    assert expr.has(sympy.exp(t))
    assert fl.verify.is_conserved(model, law, flow="momentum", tau=1)
    # the same quantity without e^{τt} is not conserved when τ > 0
    assert not fl.verify.is_conserved(model, sympy.simplify(expr * sympy.exp(-t)), flow="momentum", tau=1)


def test_tau_zero_and_nesterov():
    zero = checked(fl.analyze(fl.models.factorization(2, 2, 2), flow="momentum", tau=0))
    assert zero.count == 1 and "exp" not in str(zero.laws[0]) and "t" not in zero.laws[0].support
    # N = 2 < 3: below the MF formula's range, both flows keep two laws here
    model = fl.models.factorization(1, 2, 1)
    assert checked(fl.analyze(model, flow="momentum", tau=0)).count == 2
    nesterov = checked(fl.analyze(model, flow="nesterov"))
    assert nesterov.count == 2
    assert all("t^3" in str(law) for law in nesterov.laws)


@pytest.mark.parametrize(
    "kwargs,error",
    [
        (dict(flow="momentum", tau=0.5), DomainError),
        (dict(flow="momentum", tau=float("nan")), DomainError),
        (dict(flow="momentum", tau=-1), InvalidArgument),
        (dict(flow="momentum", tau="abc"), DomainError),
        (dict(flow="gradient", tau=1), InvalidArgument),
        (dict(flow="nesterov", tau=1), InvalidArgument),
        (dict(flow="gradient", metric="riemann"), InvalidArgument),
    ],
)
def test_flow_arguments_are_validated(kwargs, error):
    with pytest.raises(error):
        fl.analyze(fl.models.factorization(1, 1, 1), **kwargs)


def test_compare_flows_table():
    rows = fl.compare_flows(fl.models.mlp([2, 2, 1], activation="relu"))
    assert [(r["flow"], r["tau"], r["count"]) for r in rows] == [
        ("gradient", None, 2), ("momentum", "1", 0), ("momentum", "0", 0), ("nesterov", None, 0)
    ]


def _heavy_ball(model, law, tau, *, perturb=0.0, seed=0):
    """Integrate θ'' + τθ' = −∇L for L = ½‖φ(θ) − y‖² and return the law's relative drift."""
    from scipy.integrate import solve_ivp

    params = [sympy.Symbol(v) for v in model.variables]
    vels = [sympy.Symbol(v + "'") for v in model.variables]
    t = sympy.Symbol("t")
    phi = model.phi
    rng = np.random.default_rng(seed)
    target = rng.normal(size=len(phi))
    loss = sum((f - y) ** 2 for f, y in zip(phi, target)) / 2
    grad = sympy.lambdify(params, [sympy.diff(loss, p) for p in params])
    expr = law.to_sympy() if hasattr(law, "to_sympy") else law
    expr = expr + perturb * params[0] * vels[1]
    h = sympy.lambdify([t] + params + vels, expr)
    D = len(params)

    def rhs(_, y):
        th, v = y[:D], y[D:]
        return np.concatenate([v, -tau * v - np.array(grad(*th), dtype=float)])

    y0 = np.concatenate([rng.normal(size=D) * 0.5, rng.normal(size=D) * 0.5])
    sol = solve_ivp(rhs, (0, 2.0), y0, rtol=1e-11, atol=1e-12, dense_output=True)
    values = [h(tt, *sol.sol(tt)) for tt in np.linspace(0, 2.0, 21)]
    return max(abs(v - values[0]) for v in values) / (abs(values[0]) + 1e-12)


def test_heavy_ball_simulation_keeps_the_law_and_not_a_perturbation():
    model = fl.models.factorization(2, 2, 2)
    (law,) = fl.analyze(model, flow="momentum", tau="1/2").laws
    assert _heavy_ball(model, law, 0.5) < 1e-7
    assert _heavy_ball(model, law, 0.5, perturb=0.3) > 1e-3
