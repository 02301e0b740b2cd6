"""NumPy networks: layout in certificate order, gradients, Model duck typing, known laws."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowlaws.dynamics import MLP, LawMonitor, balancedness_laws, network_from_model
from flowlaws.errors import InvalidArgument, UnsupportedArchitecture


def _fd_grad(fun, theta, eps=1e-6):
    out = np.empty_like(theta)
    for k in range(theta.size):
        e = np.zeros_like(theta)
        e[k] = eps
        out[k] = (fun(theta + e) - fun(theta - e)) / (2 * eps)
    return out


def test_layout_follows_certificate_format():
    net = MLP([2, 3, 1], "relu", bias=True)
    assert net.dim == 2 * 3 + 3 + 3 + 1
    assert net.variables[:3] == ("W1[0,0]", "W1[0,1]", "W1[1,0]")
    assert net.variables[6:9] == ("b1[0]", "b1[1]", "b1[2]")
    assert net.variables[9:] == ("W2[0,0]", "W2[0,1]", "W2[0,2]", "b2[0]")
    theta = np.arange(net.dim, dtype=float)
    (W1, b1), (W2, b2) = net.unpack(theta)
    assert W1.shape == (3, 2) and W1[1, 0] == theta[net.index("W1[1,0]")]
    assert b1.tolist() == [6.0, 7.0, 8.0] and W2.shape == (1, 3) and b2.tolist() == [12.0]
    assert np.array_equal(net.pack([W1, W2], [b1, b2]), theta)


def test_forward_by_hand():
    net = MLP([2, 2, 1], "leaky_relu", negative_slope=0.5)
    # W1 = [[1, 0], [0, 1]], W2 = [[1, -1]]
    theta = np.array([1.0, 0.0, 0.0, 1.0, 1.0, -1.0])
    out = net.forward(theta, [[2.0, -2.0], [-2.0, 2.0]])[:, 0]
    assert out.tolist() == [2.0 + 1.0, -1.0 - 2.0]


@pytest.mark.parametrize("loss", ["logistic", "exponential", "squared"])
@pytest.mark.parametrize(
    "layers,acts,bias",
    [([3, 4, 1], ["relu"], False), ([3, 4, 2, 1], ["leaky_relu", "linear"], True), ([2, 1], [], True)],
)
def test_gradient_matches_finite_differences(layers, acts, bias, loss):
    net = MLP(layers, acts, bias, negative_slope=0.2)
    rng = np.random.default_rng(0)
    theta = net.init(seed=1)
    X = rng.standard_normal((6, layers[0]))
    y = np.sign(rng.standard_normal(6))
    _, g = net.loss_grad(theta, X, y, loss=loss)
    fd = _fd_grad(lambda th: net.loss(th, X, y, loss=loss), theta)
    assert np.allclose(g, fd, atol=1e-7)


def test_output_jacobian_matches_finite_differences():
    net = MLP([3, 5, 1], "leaky_relu", bias=True)
    theta = net.init(seed=2)
    X = np.random.default_rng(3).standard_normal((4, 3))
    J = net.output_jacobian(theta, X)
    for i in range(4):
        fd = _fd_grad(lambda th: net.forward(th, X[i : i + 1])[0, 0], theta)
        assert np.allclose(J[i], fd, atol=1e-7)


def test_frozen_blocks_get_zero_gradient():
    net = MLP([2, 3, 1], "relu")
    grad = net.gradient_fn(np.eye(2), [1.0, -1.0], frozen=["W2"])
    g = grad(net.init(seed=0))
    assert np.all(g[net.mask(["W2"])] == 0) and np.any(g[net.mask(["W1"])] != 0)


def test_network_from_stand_in_model():
    stand_in = SimpleNamespace(
        layers=(3, 2, 1), activations=("relu",), bias=True, kind="network",
        variables=MLP([3, 2, 1], "relu", True).variables, dim=11,
    )
    net = network_from_model(stand_in, negative_slope=0.3)
    assert (net.layers, net.activations, net.bias, net.dim) == ((3, 2, 1), ("relu",), True, 11)
    assert net.negative_slope == 0.3


def test_network_from_model_rejects_other_orders_and_kinds():
    wrong = SimpleNamespace(layers=[2, 1], activations=[], bias=False, variables=("b", "a"))
    with pytest.raises(InvalidArgument, match="certificate"):
        network_from_model(wrong)
    poly = SimpleNamespace(layers=None, activations=None, bias=False, kind="polynomials")
    with pytest.raises(UnsupportedArchitecture, match="not a layered network"):
        network_from_model(poly)
    with pytest.raises(UnsupportedArchitecture):
        network_from_model(object())


def test_network_from_engine_model():
    fl = pytest.importorskip("flowlaws")
    try:
        model = fl.models.mlp([3, 2, 1], activation="leaky_relu", bias=True)
    except AttributeError as err:  # engine not there yet
        pytest.skip(f"flowlaws.models.mlp unavailable: {err}")
    net = network_from_model(model)
    assert net.variables == tuple(model.variables) and net.dim == model.dim


def test_bad_arguments():
    with pytest.raises(InvalidArgument, match="layers="):
        MLP([2, 0, 1], "relu")
    with pytest.raises(InvalidArgument, match="one activation per hidden layer"):
        MLP([2, 2, 2, 1], ["relu"])
    with pytest.raises(UnsupportedArchitecture, match="tanh"):
        MLP([2, 2, 1], "tanh")
    with pytest.raises(InvalidArgument, match="negative_slope"):
        MLP([2, 2, 1], "leaky_relu", negative_slope=1.5)
    net = MLP([2, 2, 1], "relu")
    with pytest.raises(InvalidArgument, match="theta has shape"):
        net.forward(np.zeros(3), np.eye(2))
    with pytest.raises(InvalidArgument, match="X has shape"):
        net.forward(np.zeros(net.dim), np.eye(3))
    with pytest.raises(InvalidArgument, match="loss="):
        net.loss(np.zeros(net.dim), np.eye(2), [1, -1], loss="hinge")
    with pytest.raises(InvalidArgument, match="no such parameter block"):
        net.mask(["W3"])


def test_balancedness_laws_print_as_in_design():
    laws = balancedness_laws(MLP([2, 2, 1], "relu", bias=True))
    assert [str(h) for h in laws] == [
        "W1[0,0]^2 + W1[0,1]^2 + b1[0]^2 - W2[0,0]^2",
        "W1[1,0]^2 + W1[1,1]^2 + b1[1]^2 - W2[0,1]^2",
    ]
    assert len(balancedness_laws(MLP([2, 3, 1], "linear"))) == 6  # entries i <= k of a 3x3 matrix


@given(
    widths=st.lists(st.integers(1, 3), min_size=3, max_size=4),
    act=st.sampled_from(["linear", "relu", "leaky_relu"]),
    bias=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_known_laws_are_infinitesimally_conserved(widths, act, bias, seed):
    """<grad h, grad L> = 0 at a random point, for every known law (any loss, any data)."""
    net = MLP(widths, act, bias, negative_slope=0.25)
    rng = np.random.default_rng(seed)
    theta = net.init(seed=rng)
    X = rng.standard_normal((5, widths[0]))
    y = rng.standard_normal((5, widths[-1]))
    _, g = net.loss_grad(theta, X, y, loss="squared")
    mon = LawMonitor(balancedness_laws(net))
    for k in range(len(mon.laws)):
        grad_h = _fd_grad(lambda th: mon.evaluate(th)[k], theta, eps=1e-5)
        assert abs(grad_h @ g) <= 1e-7 * (1 + np.linalg.norm(grad_h) * np.linalg.norm(g))
