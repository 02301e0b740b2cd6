"""Integrators on problems with closed-form solutions, and their errors."""

from __future__ import annotations

import numpy as np
import pytest

from flowlaws.dynamics import (
    Trajectory,
    gradient_descent,
    gradient_flow,
    heavy_ball,
    heavy_ball_flow,
    nesterov,
    nesterov_flow,
)
from flowlaws.errors import BudgetExceeded, InvalidArgument

A = np.diag([1.0, 3.0])


def quad(th):
    return A @ th


def test_gradient_flow_matches_exponential():
    traj = gradient_flow(quad, [1.0, 1.0], t_end=2.0, n_eval=5)
    assert isinstance(traj, Trajectory) and traj.params.shape == (5, 2)
    exact = np.exp(-np.outer(traj.times, [1.0, 3.0]))
    assert np.allclose(traj.params, exact, rtol=1e-9, atol=1e-12)
    assert traj.velocities is None and traj.steps is None


def test_gradient_descent_closed_form_and_recording():
    traj = gradient_descent(quad, [1.0, 1.0], lr=0.1, steps=10, record=5)
    assert traj.steps.tolist() == [0, 5, 10]
    assert np.allclose(traj.final, [0.9**10, 0.7**10])
    assert np.allclose(traj.times, [0.0, 0.5, 1.0])
    seen = []
    gradient_descent(quad, [1.0, 1.0], lr=0.1, steps=3, record=[3], callback=lambda k, th: seen.append(k))
    assert seen == [0, 1, 2, 3]


def test_gradient_descent_stops_on_blow_up():
    traj = gradient_descent(quad, [1.0, 1.0], lr=1e300, steps=50)
    assert traj.info["stopped"] and "non-finite" in traj.info["stopped"]


def test_heavy_ball_flow_matches_damped_oscillator():
    # x'' + tau x' + k x = 0, x(0) = 1, x'(0) = 0, underdamped
    tau, k = 0.5, 4.0
    traj = heavy_ball_flow(lambda th: k * th, [1.0], tau=tau, t_end=3.0, n_eval=7)
    w = np.sqrt(k - tau**2 / 4)
    t = traj.times
    exact = np.exp(-tau * t / 2) * (np.cos(w * t) + tau / (2 * w) * np.sin(w * t))
    assert np.allclose(traj.params[:, 0], exact, atol=1e-9)
    assert traj.velocities.shape == (7, 1)


def test_discrete_heavy_ball_approaches_its_flow():
    tau, t_end = 1.0, 2.0
    ode = heavy_ball_flow(quad, [1.0, -1.0], tau=tau, t_end=t_end, n_eval=2).final
    errors = []
    for h in (0.02, 0.01):
        steps = int(round(t_end / h))
        hb = heavy_ball(quad, [1.0, -1.0], lr=h * h, momentum=1 - tau * h, steps=steps, record=steps)
        assert hb.times[-1] == pytest.approx(t_end)
        errors.append(np.abs(hb.final - ode).max())
    assert errors[1] < errors[0] < 0.05  # first-order convergence to the ODE


def test_nesterov_discrete_and_flow_converge():
    traj = nesterov(quad, [1.0, 1.0], lr=0.1, steps=200)
    assert np.abs(traj.final).max() < 1e-3 and traj.velocities is not None
    flow = nesterov_flow(quad, [1.0, 1.0], t_end=10.0, n_eval=3)
    assert np.abs(flow.final).max() < 0.1
    late = nesterov_flow(quad, [1.0, 1.0], t0=1.0, v0=[0.1, 0.0], t_end=2.0, n_eval=2)
    assert late.times.tolist() == [1.0, 2.0]


def test_budget_and_argument_errors():
    with pytest.raises(BudgetExceeded, match="max_nfev=10"):
        gradient_flow(quad, [1.0, 1.0], t_end=5.0, max_nfev=10)
    with pytest.raises(InvalidArgument, match="lr="):
        gradient_descent(quad, [1.0], lr=-1.0, steps=3)
    with pytest.raises(InvalidArgument, match="steps="):
        gradient_descent(quad, [1.0], lr=0.1, steps=2.5)
    with pytest.raises(InvalidArgument, match="momentum="):
        heavy_ball(quad, [1.0], lr=0.1, momentum=1.0, steps=3)
    with pytest.raises(InvalidArgument, match="theta0"):
        gradient_flow(quad, [[1.0]], t_end=1.0)
    with pytest.raises(InvalidArgument, match="v0=0"):
        nesterov_flow(quad, [1.0], t_end=1.0, v0=[1.0])
    with pytest.raises(InvalidArgument, match="t_eval"):
        gradient_flow(quad, [1.0, 1.0], t_end=1.0, t_eval=[0.5, 0.2])
