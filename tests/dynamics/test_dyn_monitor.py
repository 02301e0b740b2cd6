"""LawMonitor: vectorised evaluation, drift reports, momentum laws, PyTorch hooks."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from flowlaws.dynamics import (
    MLP,
    LawMonitor,
    balancedness_laws,
    flatten_torch_parameters,
    gradient_descent,
    gradient_flow,
    heavy_ball_flow,
    network_from_model,
    phase_space,
)
from flowlaws.errors import InvalidArgument
from flowlaws.laws import Law

UV = Law(((1, ((0, 2),)), (-1, ((1, 2),))), ("u", "v"))          # u^2 - v^2
CUBIC = Law(((3, ((0, 1), (1, 2))), (-2, ()),), ("u", "v"))      # 3 u v^2 - 2


def test_evaluate_single_and_batch():
    mon = LawMonitor([UV, CUBIC])
    assert mon.evaluate([3.0, 2.0]).tolist() == [5.0, 3 * 3 * 4 - 2]
    batch = np.array([[3.0, 2.0], [1.0, -1.0], [0.5, 2.0]])
    expect = np.array([[u * u - v * v, 3 * u * v * v - 2] for u, v in batch])
    assert np.allclose(mon.evaluate(batch), expect)
    assert mon.scales([3.0, 2.0]).tolist() == [13.0, 38.0]


def test_drift_report():
    mon = LawMonitor([UV])
    for x in ([3.0, 2.0], [3.0, 2.1], [3.0, 1.9]):
        mon.record(x)
    rep = mon.drift()
    assert rep.max_drift == pytest.approx(0.41)
    assert rep.max_relative_drift == pytest.approx(0.41 / 13.0)
    assert rep.per_step.shape == (3,) and rep.steps.tolist() == [0.0, 1.0, 2.0]
    assert "u^2 - v^2" in str(rep)
    assert mon.values.shape == (3, 1)


def test_time_rate_laws_need_t():
    timed = Law(((1, ((0, 1),)),), ("x",), time_rate=2)
    mon = LawMonitor([timed])
    assert mon.evaluate([3.0], t=0.5) == pytest.approx(3.0 * np.e)
    with pytest.raises(InvalidArgument, match="pass t="):
        mon.evaluate([3.0])


def test_errors():
    with pytest.raises(InvalidArgument, match="expected flowlaws.laws.Law"):
        LawMonitor(["u^2"])  # type: ignore[list-item]
    with pytest.raises(InvalidArgument, match="different variables"):
        LawMonitor([UV, Law(((1, ((0, 1),)),), ("x",))])
    with pytest.raises(InvalidArgument, match="over 2 variables"):
        LawMonitor([UV]).evaluate([1.0, 2.0, 3.0])
    with pytest.raises(InvalidArgument, match="nothing recorded"):
        LawMonitor([UV]).drift()
    with pytest.raises(InvalidArgument, match="out of range"):
        LawMonitor([Law(((1, ((5, 1),)),), ("x",))])


def _data(n, d, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), np.sign(rng.standard_normal(n))


def test_monitor_on_stand_in_model_under_gradient_flow_and_descent():
    """Laws of a (stand-in) Model hold under GF to integration accuracy; GD drifts ~ lr^2."""
    model = SimpleNamespace(layers=(3, 4, 1), activations=("linear",), bias=True)
    net = network_from_model(model)
    X, y = _data(6, 3, 0)
    grad = net.gradient_fn(X, y, loss="squared")
    theta0 = net.init(scale=0.5, seed=1)
    mon = LawMonitor(balancedness_laws(net))
    mon.track(gradient_flow(grad, theta0, t_end=2.0, n_eval=11))
    assert mon.drift().max_drift < 1e-8
    drifts = []
    for lr in (0.02, 0.01):
        m = LawMonitor(balancedness_laws(net))
        m.track(gradient_descent(grad, theta0, lr=lr, steps=5))
        drifts.append(m.drift().max_drift)
    assert 3.0 < drifts[0] / drifts[1] < 5.0


def test_monitor_with_engine_laws():
    fl = pytest.importorskip("flowlaws")
    try:
        model = fl.models.mlp([2, 3, 1], activation="relu", bias=True)
        res = fl.analyze(model)
    except AttributeError as err:
        pytest.skip(f"exact engine unavailable: {err}")
    net = network_from_model(model)
    X, y = _data(5, 2, 2)
    mon = LawMonitor(res.laws)
    mon.track(gradient_flow(net.gradient_fn(X, y), net.init(seed=3), t_end=1.0, n_eval=6))
    assert len(res.laws) == 3 and mon.drift().max_drift < 1e-8


def _momentum_laws(net: MLP, tau: float) -> tuple[list[Law], list[Law], list[Law]]:
    """Entries (i<k) of e^{tau t}(W1 V1^T - V1 W1^T + W2^T V2 - V2^T W2) on (s, theta, v).

    Returned three ways: with the factor s (true laws), as time_rate laws (same),
    and without any time factor (a perturbed law, not conserved when tau > 0).
    """
    D = net.dim
    names = ("s", *net.variables, *(f"v_{v}" for v in net.variables))
    n0, n1, n2 = net.layers
    with_s, timed, bare = [], [], []
    for i in range(n1):
        for k in range(i + 1, n1):
            pairs = [(f"W1[{i},{j}]", f"W1[{k},{j}]", 1) for j in range(n0)]
            pairs += [(f"W2[{r},{i}]", f"W2[{r},{k}]", 1) for r in range(n2)]
            poly = []
            for a, b, _ in pairs:
                ia, ib = 1 + net.index(a), 1 + net.index(b)
                poly.append((1, ((ia, 1), (D + ib, 1))))   # a * v_b
                poly.append((-1, ((ib, 1), (D + ia, 1))))  # - b * v_a
            # W1 V1^T - V1 W1^T has entry sum_j W1[i,j]V1[k,j] - V1[i,j]W1[k,j];
            # W2^T V2 - V2^T W2 has entry sum_r W2[r,i]V2[r,k] - V2[r,i]W2[r,k]: same shape.
            bare.append(Law(tuple(poly), names))
            timed.append(Law(tuple(poly), names, time_rate=tau))
            with_s.append(Law(tuple((c, ((0, 1), *m)) for c, m in poly), names))
    return with_s, timed, bare


def test_heavy_ball_flow_conserves_momentum_laws_not_perturbed_ones():
    tau = 1.5
    net = MLP([3, 3, 2], "linear")
    X, y = _data(5, 3, 4)
    grad = net.gradient_fn(X, np.stack([y, -y], axis=1), loss="squared")
    v0 = np.random.default_rng(5).standard_normal(net.dim) * 0.3
    traj = heavy_ball_flow(grad, net.init(scale=0.7, seed=6), tau=tau, t_end=2.0, v0=v0, n_eval=21)
    with_s, timed, bare = _momentum_laws(net, tau)
    true = LawMonitor(with_s)
    true.track(traj, tau=tau)
    assert true.drift().max_relative_drift < 1e-7
    same = LawMonitor(timed)
    vals = same.track(traj, tau=tau)
    assert np.allclose(vals, true.values, atol=1e-12)
    perturbed = LawMonitor(bare)
    perturbed.track(traj, tau=tau)
    assert perturbed.drift().max_relative_drift > 1e-2
    gradient_flow_laws = LawMonitor(balancedness_laws(net))  # not momentum laws
    gradient_flow_laws.track(traj)
    assert gradient_flow_laws.drift().max_relative_drift > 1e-2


def test_phase_space_layout():
    out = phase_space([[1.0, 2.0], [3.0, 4.0]], [[0.5, 0.5], [1.0, 1.0]], [0.0, 1.0], tau=0.0)
    assert out.tolist() == [[0.0, 1.0, 2.0, 0.5, 0.5], [1.0, 3.0, 4.0, 1.0, 1.0]]
    with pytest.raises(InvalidArgument, match="do not match"):
        phase_space([[1.0]], [[1.0, 2.0]], [0.0], tau=1.0)


class _FakeParam:
    def __init__(self, arr):
        self.arr = np.asarray(arr, dtype=np.float32)

    def detach(self):
        return self

    def cpu(self):
        return self

    def double(self):
        return _FakeParam(self.arr.astype(np.float64))

    def numpy(self):
        return self.arr


class _FakeModule:
    def __init__(self, params):
        self.params = params

    def named_parameters(self):
        return list(self.params.items())


def test_torch_monitor_without_torch_via_duck_typing():
    net = MLP([2, 2, 1], "relu", bias=True)
    theta = net.init(seed=0)
    (W1, b1), (W2, b2) = net.unpack(theta)
    module = _FakeModule({"0.weight": _FakeParam(W1), "0.bias": _FakeParam(b1),
                          "2.weight": _FakeParam(W2), "2.bias": _FakeParam(b2)})
    assert np.allclose(flatten_torch_parameters(module), theta, atol=1e-6)
    mon = LawMonitor.from_torch(module, balancedness_laws(net))
    mon.record()
    module.params["2.weight"] = _FakeParam(W2 * 1.1)
    mon(None, (), {})  # as an optimizer step hook
    assert mon.drift().max_drift > 0
    with pytest.raises(InvalidArgument, match="parameters but the laws"):
        LawMonitor.from_torch(module, balancedness_laws(MLP([2, 3, 1], "relu", bias=True)))


def test_torch_hook_in_a_real_training_loop():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1)).double()
    laws = balancedness_laws(MLP([3, 4, 1], "relu", bias=True))
    mon = LawMonitor.from_torch(model, laws)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    handle = mon.attach(opt)
    mon.record(step=0)
    X = torch.randn(8, 3, dtype=torch.float64)
    y = torch.randn(8, 1, dtype=torch.float64)
    for _ in range(20):
        opt.zero_grad()
        loss = ((model(X) - y) ** 2).mean() / 2
        loss.backward()
        opt.step()
    handle.remove()
    rep = mon.drift()
    assert len(rep.steps) == 21
    assert 0 < rep.max_drift < 1e-3  # O(lr^2) per step: SGD is not gradient flow
    # same parameters as the NumPy network reads them
    theta = flatten_torch_parameters(model)
    net = MLP([3, 4, 1], "relu", bias=True)
    out = net.forward(theta, X.numpy())
    assert np.allclose(out, model(X).detach().numpy())


def test_monitor_matches_coordinates_by_name():
    mon = LawMonitor([UV, CUBIC], variables=("v", "w", "u"))
    assert mon.evaluate([2.0, 7.0, 3.0]).tolist() == [5.0, 3 * 3 * 4 - 2]
    with pytest.raises(InvalidArgument, match="law variable 'u' is not among"):
        LawMonitor([UV], variables=("v", "w"))


def test_torch_monitor_reads_by_name_not_by_position_without_torch():
    # named_parameters() in another order than the laws' variables: same values
    net = MLP([2, 2, 1], "relu", bias=False)
    theta = net.init(seed=1)
    (W1, _), (W2, _) = net.unpack(theta)
    laws = balancedness_laws(net)
    renamed = [Law(h.terms, tuple(v.replace("W1", "fc1.weight").replace("W2", "fc2.weight")
                                  for v in h.variables)) for h in laws]
    module = _FakeModule({"fc2.weight": _FakeParam(W2), "fc1.weight": _FakeParam(W1)})
    expect = LawMonitor(laws).evaluate(theta)
    assert np.allclose(LawMonitor.from_torch(module, renamed).record(), expect)
    assert np.allclose(expect, (W1**2).sum(1) - (W2**2).sum(0))
    # names that are no parameter of the module: refused, with how to give a mapping
    with pytest.raises(InvalidArgument, match=r"names no parameter of the module.*pass mapping="):
        LawMonitor.from_torch(module, laws)
