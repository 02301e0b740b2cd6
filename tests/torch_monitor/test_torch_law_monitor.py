"""flowlaws.torch.LawMonitor on real PyTorch runs (issue 19).

A small conv net (Conv2d–ReLU–Conv2d–ReLU–flatten–Linear) imported with
``fl.models.from_torch``, trained on synthetic data in float64:

* 1,000 SGD steps: the cumulative predicted drift (the Taylor expansion along
  ``Δ = −lr·g``) equals the observed drift ``Σ h(θ⁺) − h(θ)`` to relative error ≤ 1e-6
  (measured ~1e-13), all of it second order (the first-order term is 0 to rounding);
* halving η over the same 1,000 minibatches quarters the drift (the ratio is 4 up to
  the trajectories' separation, O(N·η), see the test);
* momentum SGD, Adam and AdamW: predicted (from the optimizer's state) = observed, and the
  first-order part is accounted for by its cause (momentum / preconditioning / decay,
  the decay's part equal to ``−2·lr·wd·h(θ_t)`` summed over the steps).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import flowlaws as fl  # noqa: E402
from flowlaws.errors import InvalidArgument  # noqa: E402
from flowlaws.torch import LawMonitor  # noqa: E402


class ConvNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 3, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(3, 2, 3, padding=1)
        self.fc = nn.Linear(18, 1)

    def forward(self, x):
        x = torch.relu(self.conv1(x))
        x = torch.relu(self.conv2(x))
        return self.fc(torch.flatten(x, 1))


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # tiny tensors: one thread is faster, and other jobs on the machine do not stall the runs
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def laws():
    res = fl.analyze(fl.models.from_torch(ConvNet(), (1, 1, 6, 6)))
    assert res.complete and res.count == 5  # one law per hidden channel (3 + 2)
    return res.laws


def train(laws, lr, steps, optimizer="sgd", every=10, **kw):
    """``steps`` minibatch steps (batch 32 of 256 synthetic samples, MSE), same data and batches for a seed."""
    torch.manual_seed(0)
    net = ConvNet().double()
    X = torch.randn(256, 1, 6, 6, dtype=torch.float64)
    Y = torch.randn(256, 1, dtype=torch.float64)
    cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
           "rmsprop": torch.optim.RMSprop}[optimizer]
    opt = cls(net.parameters(), lr=lr, **kw)
    batches = torch.Generator().manual_seed(1)
    with LawMonitor(net, laws, opt, every=every) as mon:
        for _ in range(steps):
            idx = torch.randint(0, 256, (32,), generator=batches)
            opt.zero_grad()
            nn.functional.mse_loss(net(X[idx]), Y[idx]).backward()
            opt.step()
    return mon


def test_1000_sgd_steps_predicted_drift_equals_observed(laws):
    mon = train(laws, 0.01, 1000, every=100)
    s = mon.summary()
    assert s.steps == 1000 and mon.values.shape == (11, 5)
    per_law = np.abs(s.predicted - s.observed) / np.abs(s.observed)
    assert per_law.max() <= 1e-6 and s.max_relative_error <= 1e-6  # measured ~1e-13
    scale = np.abs(mon.per_step()["observed"]).sum(axis=0)
    assert np.all(np.abs(s.first_order) <= 1e-12 * scale)  # ⟨∇h, g⟩ = 0: no first-order drift under SGD
    assert np.allclose(s.second_order, s.observed, rtol=1e-6)  # quadratic laws: the drift is all second order
    assert np.all(s.higher == 0)
    # the recorded values agree with the accumulated drift
    assert np.allclose(mon.values[-1] - mon.values[0], s.observed, rtol=1e-9, atol=1e-15)


def test_halving_the_step_quarters_the_drift(laws):
    # Per step the drift is η²·f(θ_t, B_t) with f = gᵀ∇²h g / 2 (the same minibatches B_t in both
    # runs), so the ratio of total variations Σ_t |Δh_t| is 4·F(η)/F(η/2), where the runs' points
    # differ by O(t·η) (N·η = 0.1 here): the factor F(η)/F(η/2) is 1 + O(N·η). Measured: ratio 3.93
    # at N·η = 0.1 (3.97 at 0.02, 4.05 at 1, but 5.5 at N·η = 4 where the runs part ways); a 5% band.
    a = train(laws, 1e-4, 1000, every=1000)
    b = train(laws, 5e-5, 1000, every=1000)
    va = np.abs(a.per_step()["observed"]).sum()
    vb = np.abs(b.per_step()["observed"]).sum()
    assert va / vb == pytest.approx(4.0, rel=0.05)
    for mon in (a, b):
        s = mon.summary()
        assert s.max_relative_error <= 1e-6


@pytest.mark.parametrize("optimizer, lr, kw", [
    ("sgd", 0.01, {"momentum": 0.9}),
    ("sgd", 0.01, {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("sgd", 0.01, {"momentum": 0.5, "dampening": 0.3}),
    ("adam", 1e-3, {}),
    ("adam", 1e-3, {"weight_decay": 0.01, "amsgrad": True}),
    ("adamw", 1e-3, {"weight_decay": 0.05}),
])
def test_momentum_adam_and_adamw_drift_is_accounted_for(laws, optimizer, lr, kw):
    mon = train(laws, lr, 300, optimizer, every=1, **kw)
    s = mon.summary()
    assert s.max_relative_error <= 1e-9  # predicted from the optimizer's state = observed
    assert np.allclose(s.predicted, s.observed, rtol=1e-8, atol=1e-15)
    scale = np.abs(mon.per_step()["observed"]).sum(axis=0)
    assert np.all(np.abs(s.gradient) <= 1e-12 * scale)  # the plain gradient's part is 0 for a law ...
    assert np.abs(s.first_order).max() > 1e-3 * np.abs(s.observed).max()  # ... but these steps drift at first order
    wd = kw.get("weight_decay", 0.0)
    if optimizer == "adamw" or (optimizer == "sgd" and wd):
        # −lr·wd·⟨∇h, θ⟩ = −2·lr·wd·h(θ) per step (Euler: the laws are homogeneous quadratics)
        expected = -2 * lr * wd * mon.values[:-1].sum(axis=0)
        assert np.allclose(s.weight_decay, expected, rtol=1e-9)
        assert np.all(s.weight_decay != 0)
    else:
        assert np.all(s.weight_decay == 0)


def test_other_optimizers_use_the_parameter_change(laws):
    mon = train(laws, 1e-3, 50, "rmsprop")
    s = mon.summary()
    assert s.max_relative_error <= 1e-9 and np.all(s.gradient == 0)  # no rule: the update is read, unsplit


def test_float32_runs_expand_along_the_observed_update(laws):
    errors = {}
    for update in ["auto", "rule"]:
        torch.manual_seed(0)
        net = ConvNet()
        opt = torch.optim.SGD(net.parameters(), lr=0.01)
        x, y = torch.randn(32, 1, 6, 6), torch.randn(32, 1)
        mon = LawMonitor(net, laws, opt, update=update)
        for _ in range(100):
            opt.zero_grad()
            nn.functional.mse_loss(net(x), y).backward()
            opt.step()
        mon.close()
        errors[update] = mon.summary().max_relative_error
    assert errors["auto"] <= 1e-9  # float32 parameters, read exactly into float64: the parameter change
    assert errors["rule"] > 1e-6  # −lr·g in float64 is not the float32 update: a first-order mismatch


def test_names_shapes_and_arguments_are_checked(laws):
    net = ConvNet()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)

    class Other(ConvNet):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, 3, stride=2, padding=1)  # another shape
            self.conv2 = nn.Conv2d(4, 2, 3, padding=1)

    with pytest.raises(InvalidArgument, match=r"shape \(3, 1, 3, 3\), the module's has shape \(4, 1, 3, 3\)"):
        LawMonitor(Other(), laws)
    renamed = nn.Sequential(nn.Conv2d(1, 3, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(3, 2, 3, padding=1),
                            nn.ReLU(), nn.Flatten(), nn.Linear(18, 1))
    with pytest.raises(InvalidArgument, match="names no parameter|no parameter"):
        LawMonitor(renamed, laws)
    with pytest.raises(InvalidArgument, match="every"):
        LawMonitor(net, laws, every=0)
    with pytest.raises(InvalidArgument, match="update"):
        LawMonitor(net, laws, update="guess")
    with pytest.raises(InvalidArgument, match="does not train"):
        LawMonitor(net, laws, torch.optim.SGD(net.fc.parameters(), lr=0.1))
    momentum_laws = fl.analyze(fl.models.factorization(1, 2, 1), flow="momentum", tau=1).laws
    timed = [h for h in momentum_laws if h.time_rate]
    if timed:
        with pytest.raises(InvalidArgument, match="time dependent"):
            LawMonitor(net, timed)
    mon = LawMonitor(net, laws, opt)
    with pytest.raises(InvalidArgument, match="already attached"):
        mon.attach(opt)
    mon.close()
    assert "detached" in repr(mon)


def test_plot_draws_both_panels(laws, tmp_path):
    pytest.importorskip("matplotlib")
    mon = train(laws, 0.01, 40, "sgd", momentum=0.9)
    fig = mon.plot(str(tmp_path / "drift.png"), title="momentum SGD")
    assert (tmp_path / "drift.png").stat().st_size > 10_000 and len(fig.axes) == 2


def test_importing_flowlaws_does_not_import_torch_and_a_missing_torch_is_one_clear_error():
    code = ("import sys, flowlaws, flowlaws.dynamics, flowlaws.verify\n"
            "assert 'torch' not in sys.modules, 'torch imported'\n"
            "sys.modules['torch'] = None\n"
            "try:\n    import flowlaws.torch\n"
            "except flowlaws._optional.MissingDependency as err:\n    print(err)\n")
    root = Path(__file__).resolve().parents[2]  # the source tree, importable whether or not flowlaws is installed
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=root)
    assert out.returncode == 0, out.stderr
    assert "pip install 'flowlaws[torch]'" in out.stdout


def test_compiled_taylor_matches_the_exact_step_drift_on_mixed_degree_polynomials():
    from fractions import Fraction

    from flowlaws.laws import Law
    from flowlaws.torch._compiled import CompiledLaws
    from flowlaws.verify import step_drift

    rng = np.random.default_rng(3)
    names = tuple(f"x{i}" for i in range(6))
    laws = []
    for _ in range(4):  # constants, squares, cross terms, cubes, a quartic x_i^2 x_j x_k
        terms = {}
        for _ in range(7):
            k = int(rng.integers(0, 5))
            vars_ = sorted(rng.choice(6, size=k, replace=True).tolist())
            mono = tuple((v, vars_.count(v)) for v in sorted(set(vars_)))
            terms[mono] = terms.get(mono, 0) + int(rng.integers(-3, 4))
        laws.append(Law(tuple((c, m) for m, c in terms.items() if c), names))
    compiled = CompiledLaws(laws)
    assert compiled.degree == 4 and len(compiled._groups) >= 4
    x = torch.tensor(rng.integers(-3, 4, 6), dtype=torch.float64)
    d = torch.tensor(rng.integers(-3, 4, 6), dtype=torch.float64) / 8
    v = torch.tensor(rng.integers(-3, 4, 6), dtype=torch.float64)
    sub = list(compiled.support)
    table = compiled.taylor(x[sub], d[sub], [v[sub]], after=(x + d)[sub])
    for k, law in enumerate(laws):
        exact = step_drift(law, [Fraction(int(t)) for t in x], update=[Fraction(float(t)) for t in d])
        along_v = step_drift(law, [Fraction(int(t)) for t in x], update=[Fraction(int(t)) for t in v])
        coeffs = list(exact.terms) + [Fraction(0)] * (compiled.degree - len(exact.terms))
        assert table[k, 1 : compiled.degree + 1].tolist() == pytest.approx([float(c) for c in coeffs], abs=1e-12)
        assert table[k, compiled.degree + 1].item() == pytest.approx(float(along_v.first_order), abs=1e-12)
        h0 = table[k, 0].item()
        assert table[k, -1].item() == pytest.approx(h0 + float(exact.exact), abs=1e-12)
        assert compiled.values(x[sub])[k].item() == pytest.approx(h0, abs=1e-12)


def test_a_parameter_without_gradient_is_left_alone_as_the_optimizer_does(laws):
    torch.manual_seed(0)
    net = ConvNet().double()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=0.1)
    x, y = torch.randn(16, 1, 6, 6, dtype=torch.float64), torch.randn(16, 1, dtype=torch.float64)
    with LawMonitor(net, laws, opt) as mon:
        for step in range(20):
            opt.zero_grad(set_to_none=True)
            nn.functional.mse_loss(net(x), y).backward()
            if step % 2:
                net.conv2.weight.grad = None  # skipped by SGD: no decay, no momentum on it this step
            opt.step()
    assert mon.summary().max_relative_error <= 1e-9
