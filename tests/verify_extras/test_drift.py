"""flowlaws.verify.drift / simulate_gd: the O(η²) drift of discrete steps next to exact conservation."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

import flowlaws as fl
from flowlaws.errors import BudgetExceeded, DomainError, InvalidArgument
from flowlaws.laws import Law
from flowlaws.verify import DriftReport, drift, is_conserved, simulate_gd

RELU = fl.models.mlp([2, 3, 1], activation="relu")
LAW = "W1[0,0]^2 + W1[0,1]^2 - W2[0,0]^2"  # balancedness of the first hidden neuron
NOT_A_LAW = "W1[0,0]^2 - W2[0,0]^2"


class UV:
    """phi = u*v, a stand-in for a flowlaws model."""

    variables = ("u", "v")

    def to_json(self):
        return {"kind": "polynomials", "phi": [[["1", [[0, 1], [1, 1]]]]]}


def test_the_law_is_exact_and_the_other_is_not():
    assert is_conserved(RELU, LAW) and not is_conserved(RELU, NOT_A_LAW)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_halving_the_step_quarters_the_drift_of_a_relu_law(seed):
    # same number of steps, steps * lr small: per-step drift eta^2 g'Hg/2
    d1 = drift(RELU, LAW, simulate_gd(RELU, 20, 0.002, seed=seed))
    d2 = drift(RELU, LAW, simulate_gd(RELU, 20, 0.001, seed=seed))
    assert d2.max_abs > 0
    assert 3 < d1.max_abs / d2.max_abs < 5


def test_halving_the_step_halves_the_drift_over_a_fixed_time():
    d1 = drift(RELU, LAW, simulate_gd(RELU, 50, 0.02, seed=0))
    d2 = drift(RELU, LAW, simulate_gd(RELU, 100, 0.01, seed=0))
    assert 1.6 < d1.max_abs / d2.max_abs < 2.5


def test_sgd_drift_is_also_second_order():
    d1 = drift(RELU, LAW, simulate_gd(RELU, 20, 0.002, seed=4, batch=2))
    d2 = drift(RELU, LAW, simulate_gd(RELU, 20, 0.001, seed=4, batch=2))
    assert 3 < d1.max_abs / d2.max_abs < 5


def test_a_non_law_drifts_at_first_order_and_much_more():
    run1, run2 = simulate_gd(RELU, 20, 0.002, seed=0), simulate_gd(RELU, 20, 0.001, seed=0)
    n1, n2 = drift(RELU, NOT_A_LAW, run1), drift(RELU, NOT_A_LAW, run2)
    assert 1.6 < n1.max_abs / n2.max_abs < 2.5
    assert n2.max_abs > 20 * drift(RELU, LAW, run2).max_abs


def test_factorization_law_drift_and_linear_loss():
    m = fl.models.factorization(2, 1, 2)
    law = "U[0,0]^2 + U[1,0]^2 - V[0,0]^2 - V[1,0]^2"
    d1 = drift(m, law, simulate_gd(m, 10, 0.002, seed=1, loss="random-linear"))
    d2 = drift(m, law, simulate_gd(m, 10, 0.001, seed=1, loss="random-linear"))
    assert 3 < d1.max_abs / d2.max_abs < 5


def test_one_step_changes_a_quadratic_law_by_exactly_eta_squared_over_2_gHg():
    # h = u^2 - v^2, phi = u*v, linear loss c*phi: g = c*(v, u); one step of lr changes h by
    # lr^2 * g'Hg / 2 = lr^2 * c^2 * (v^2 - u^2)
    u, v, lr = 1.5, -0.5, 0.1
    run = simulate_gd(UV(), 1, lr, seed=3, loss="random-linear", theta0=[u, v])
    (u1, v1) = run[1]
    c = (u - u1) / (lr * v)  # the drawn coefficient of the linear loss
    assert math.isclose((v - v1) / (lr * u), c)
    d = drift(UV(), "u^2 - v^2", run)
    assert math.isclose(d.deltas[1], lr**2 * c**2 * (v**2 - u**2), rel_tol=1e-9)


def test_simulation_is_deterministic_and_descends():
    a = simulate_gd(RELU, 30, 0.01, seed=7)
    assert a == simulate_gd(RELU, 30, 0.01, seed=7)
    assert a != simulate_gd(RELU, 30, 0.01, seed=8)
    assert len(a) == 31 and all(len(row) == RELU.dim for row in a)
    theta0 = [0.5] * RELU.dim
    assert simulate_gd(RELU, 3, 0.01, seed=0, theta0=theta0)[0] == tuple(theta0)
    assert simulate_gd(RELU, 0, 0.01, seed=7) == [a[0]]


def test_the_loss_goes_down():
    # reconstruct the random quadratic loss from its definition (same seed, same draws)
    import random

    m = fl.models.symmetric_factorization(2, 1)
    run = simulate_gd(m, 200, 0.01, seed=5)
    rng = random.Random(5)
    phi = m.phi_polynomials()
    a = [rng.uniform(0.5, 1.5) for _ in phi]
    t = [rng.gauss(0.0, 1.0) for _ in phi]

    def loss(theta):
        vals = [sum(c * math.prod(x**e for x, e in zip(theta, mono)) for mono, c in f.items()) for f in phi]
        return 0.5 * sum(ak * (vk - tk) ** 2 for ak, vk, tk in zip(a, vals, t))

    losses = [loss(theta) for theta in run]
    assert losses[-1] < 0.5 * losses[0]
    assert all(l1 <= l0 + 1e-12 for l0, l1 in zip(losses, losses[1:]))


# -- drift itself ---------------------------------------------------------------------------
def test_drift_report_values():
    d = drift(UV(), "u^2/2 - v^2/2", [[1.0, 2.0], [1.5, 2.0], [2.0, 2.0]])
    assert isinstance(d, DriftReport)
    assert d.values == (-1.5, -0.875, 0.0) and d.deltas == (0.0, 0.625, 1.5)
    assert d.max_abs == 1.5 and d.scale == 2.5 and d.relative == 0.6 and d.steps == 2
    assert str(d) == "drift of u^2/2 - v^2/2 over 2 steps: max |h - h0| = 1.5 (relative 0.6)"


@pytest.mark.parametrize(
    "law",
    [
        "u^2/2 - v^2/2",
        "(u - v)*(u + v)/2",
        sp.Rational(1, 2) * (sp.Symbol("u") ** 2 - sp.Symbol("v") ** 2),
        Law(((Fraction(1, 2), ((0, 2),)), (Fraction(-1, 2), ((1, 2),))), ("u", "v")),
    ],
)
def test_laws_are_evaluated_as_given_not_rescaled(law):
    rows = np.array([[1.0, 2.0], [3.0, -1.0]])
    assert drift(UV(), law, rows).values == (-1.5, 4.0)


def test_drift_accepts_arrays_lists_poly_lists_and_dynamics_trajectories():
    run = simulate_gd(RELU, 5, 0.01, seed=0)
    arr = np.asarray(run)
    ref = drift(RELU, LAW, run)
    assert drift(RELU, LAW, arr).values == ref.values
    law_poly = [["1", [[0, 2]]], ["1", [[1, 2]]], ["-1", [[6, 2]]]]  # W1[0,0], W1[0,1], W2[0,0]
    assert RELU.variables[6] == "W2[0,0]"
    assert drift(RELU, law_poly, arr).values == ref.values
    expected = [row[0] ** 2 + row[1] ** 2 - row[6] ** 2 for row in arr]
    assert np.allclose(ref.values, expected, rtol=0, atol=1e-14)
    from flowlaws.dynamics import Trajectory

    traj = Trajectory(times=np.arange(6) * 0.01, params=arr)
    assert drift(RELU, LAW, traj).values == ref.values


def test_a_law_of_the_engine_drifts_little():
    res = fl.analyze(RELU)
    run = simulate_gd(RELU, 20, 0.001, seed=0)
    for law in res.laws:
        assert drift(RELU, law, run).relative < 1e-4
        assert drift(RELU, law.to_sympy(), run).values == drift(RELU, law, run).values


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: drift(UV(), "u^2", [[1.0, 2.0, 3.0]]), InvalidArgument, "row 0 has 3 entries, the model has 2 parameters"),
        (lambda: drift(UV(), "u^2", []), InvalidArgument, "trajectory is empty"),
        (lambda: drift(UV(), "u^2", 3), InvalidArgument, r"trajectory=3 \(type=int\)"),
        (lambda: drift(UV(), "u^2", [[1.0, float("nan")]]), DomainError, "row 0 has a non-finite value"),
        (lambda: drift(UV(), "u^2", [["a", 1]]), InvalidArgument, "row 0 .* is not a vector of numbers"),
        (lambda: drift(UV(), "w^2", [[1, 2]]), InvalidArgument, "w"),
        (lambda: drift(UV(), "0.5*u^2", [[1, 2]]), DomainError, "float"),
        (lambda: drift(UV(), sp.Float(0.5) * sp.Symbol("u"), [[1, 2]]), DomainError, "float coefficient"),
        (lambda: drift(UV(), 0.5, [[1, 2]]), DomainError, r"law=0\.5 \(type=float\)"),
        (lambda: drift(UV(), Law(((1, ((0, 1),)),), ("u",), time_rate=1), [[1, 2]]), InvalidArgument, "time dependent"),
        (lambda: drift(object(), "u", [[1]]), InvalidArgument, "expected a flowlaws model"),
        (lambda: simulate_gd(UV(), 3, 0, seed=0), InvalidArgument, r"lr=0 \(type=int\): expected a finite number > 0"),
        (lambda: simulate_gd(UV(), 3, float("inf"), seed=0), InvalidArgument, "lr=inf"),
        (lambda: simulate_gd(UV(), -1, 0.1, seed=0), InvalidArgument, r"steps=-1 \(type=int\)"),
        (lambda: simulate_gd(UV(), 3, 0.1, seed=-2), InvalidArgument, "seed=-2"),
        (lambda: simulate_gd(UV(), 3, 0.1, seed=0, loss="mse"), InvalidArgument, "loss='mse'"),
        (lambda: simulate_gd(UV(), 3, 0.1, seed=0, batch=2), InvalidArgument, "φ has only 1 coordinates"),
        (lambda: simulate_gd(UV(), 3, 0.1, seed=0, theta0=[1.0]), InvalidArgument, "row 0 has 1 entries"),
        (lambda: simulate_gd(UV(), 50, 50.0, seed=0, theta0=[3.0, 3.0]), InvalidArgument, "diverged at step"),
        (lambda: simulate_gd(fl.models.mlp([30, 30, 30, 1]), 1, 0.1, seed=0), BudgetExceeded, "27000 paths"),
    ],
)
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
