"""The leaky-ReLU implicit-bias lab (Frei et al., ICLR 2023): the issue's claims, small and seeded."""

from __future__ import annotations

import json

import numpy as np
import pytest

from flowlaws.dynamics import MLP, nearly_orthogonal_mixture
from flowlaws.dynamics import implicit_bias as ib
from flowlaws.errors import InvalidArgument, UnsupportedArchitecture


@pytest.fixture(scope="module")
def data():
    return nearly_orthogonal_mixture(30, 1000, seed=0)


def test_stable_rank_collapses_after_one_step_from_small_init(data):
    X, y = data
    assert ib.gaussian_stable_rank(50, 1000) > 30
    small = ib.train(X, y, width=50, init_scale=1e-6, steps=1, record=[0, 1])
    assert small.stable_rank[0] > 10          # a Gaussian matrix
    assert small.stable_rank[1] < 2.5         # one GD step later
    assert small.stable_rank[1] < ib.leaky_relu_stable_rank(0.1) + 0.5
    large = ib.train(X, y, width=50, init_scale=0.1, steps=1, record=[0, 1])
    assert large.stable_rank[1] > 10          # the init scale is the knob


def test_small_init_reaches_rank_two_and_a_linear_boundary(data):
    X, y = data
    run = ib.train(X, y, width=50, init_scale=1e-6, steps=1000, record=[1000])
    assert run.numerical_rank[-1] <= 2
    out = ib.summarize(run, X, y)
    assert out["min_margin"] > 0 and out["sign_agreement_train"] == 1.0
    assert out["angle_deg"] < 15.0
    assert out["kkt_stationarity"] < 0.1      # heading to a max-margin KKT point


def test_per_neuron_laws_drift_by_lr_squared(data):
    """Both layers trained by GD: drift O(lr^2) per step, ~4x smaller when lr halves."""
    X, y = data
    lr = ib.default_lr(X) / 8
    out = ib.law_drift_vs_step_size(X, y, lrs=[lr, lr / 2], steps=10, width=20, init_scale=1e-3)
    assert 3.0 < out["ratios"][0] < 5.0
    # over a fixed training time the total drift is O(lr) instead: ratio ~2
    fixed_time = ib.law_drift_vs_step_size(X, y, lrs=[lr, lr / 2], steps=[10, 20], width=20,
                                           init_scale=1e-3)
    assert 1.6 < fixed_time["ratios"][0] < 2.5


def test_gradient_flow_conserves_per_neuron_laws():
    X, y = nearly_orthogonal_mixture(6, 1000, seed=0)
    out = ib.gradient_flow_law_drift(X, y, t_end=0.2, width=4, init_scale=1e-3)
    assert out["max_drift"] < 1e-7


def test_fixed_second_layer_has_no_law_exactly():
    """DESIGN section 4: a leaky-ReLU net whose output layer is fixed has no law."""
    fl = pytest.importorskip("flowlaws")
    nx = pytest.importorskip("networkx")
    if not hasattr(fl, "analyze") or not hasattr(getattr(fl, "models", None), "from_graph"):
        pytest.skip("exact engine unavailable")
    G = nx.DiGraph()
    for j in range(2):
        G.add_node(f"x{j}", kind="input")
    for i in range(2):
        G.add_node(f"h{i}", kind="hidden", activation="leaky_relu")
    G.add_node("y", kind="output")
    for i in range(2):
        for j in range(2):
            G.add_edge(f"x{j}", f"h{i}")
        G.add_edge(f"h{i}", "y", trainable=False, value=1 if i == 0 else -1)
    assert fl.analyze(fl.models.from_graph(G)).count == 0


def test_max_margin_linear_and_kkt_on_a_linear_model(data):
    X, y = data
    w = ib.max_margin_linear(X, y)
    q = y * (X @ w)
    assert q.min() == pytest.approx(1.0, abs=1e-8)
    lin = MLP([X.shape[1], 1], [])
    res = ib.kkt_residual(lin, w, X, y)
    assert res["stationarity"] < 1e-8 and res["complementarity"] < 1e-8
    res = ib.kkt_residual(lin, w + 0.05 * np.linalg.norm(w) * np.eye(X.shape[1])[0], X, y)
    assert res["stationarity"] > 1e-3


def test_small_helpers_and_errors():
    assert ib.stable_rank(np.zeros((2, 2))) == 0.0
    assert ib.numerical_rank(np.diag([1.0, 0.1, 1e-3])) == 2
    assert ib.angle_deg([1.0, 0.0], [0.0, 2.0]) == pytest.approx(90.0)
    with pytest.raises(UnsupportedArchitecture):
        ib.margins(MLP([2, 2, 1], "relu", bias=True), np.zeros(9), np.eye(2), [1, -1])
    with pytest.raises(UnsupportedArchitecture):
        ib.initial_parameters(MLP([2, 2, 2], "relu"), init_scale=1.0)
    with pytest.raises(InvalidArgument, match="init_scales"):
        ib.run_lab("unused", init_scales=[-1.0])
    with pytest.raises(InvalidArgument, match="steps="):
        ib.run_lab("unused", steps=0)


@pytest.mark.parametrize(
    ("option", "value", "fragment"),
    [("--init-scale", "1e308", "scale <= 1000"), ("--width", "1000000000", "LAB_LIMITS['width']"),
     ("--n", "1000000000", "LAB_LIMITS['n']"), ("--seed", "-1", "seed=-1"),
     ("--steps", str(10**12), "LAB_LIMITS['steps']"), ("--d", "0", "d=0"),
     ("--d", "30000", "array_entries")],
)
def test_bias_lab_arguments_beyond_their_bounds_are_one_line_errors(tmp_path, capsys, option, value, fragment):
    from flowlaws.cli import main

    args = ["bias-lab", "--out", str(tmp_path / "out"), "--quiet", option, value]
    if value == "30000":
        args += ["--n", "50000"]  # (50000 + 1000) x 30000 data entries: 1.5e9, refused before allocating
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert fragment in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists()  # refused before creating anything


def test_run_lab_writes_plots_and_figures(tmp_path, monkeypatch):
    monkeypatch.setattr(ib, "DRIFT_HALVINGS", 3)  # keep the smoke test short
    monkeypatch.setattr(ib, "GF_POINTS", 4)
    out = ib.run_lab(tmp_path, init_scales=(1e-6, 0.1), steps=3, n=10, d=1000, width=10, progress=False)
    on_disk = json.loads((tmp_path / "figures.json").read_text())
    assert on_disk["interrupted"] is False and out == on_disk
    for key in ("stable_rank", "stable_rank_after_one_step", "gaussian_stable_rank_estimate",
                "drift_vs_step_size", "final", "timings_seconds"):
        assert key in on_disk
    assert on_disk["stable_rank_after_one_step"]["1e-06"] < 2.5
    for name in ("stable_rank.png", "margin.png", "drift_vs_step_size.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert on_disk["drift_vs_step_size"]["gradient_flow"]["max_drift"] < 1e-7


def test_run_lab_returns_partial_results_on_ctrl_c(tmp_path, monkeypatch):
    calls = {"n": 0}
    real = ib.stable_rank

    def interrupted_later(W):
        calls["n"] += 1
        if calls["n"] > 5:
            raise KeyboardInterrupt
        return real(W)

    from flowlaws.dynamics import _bias_train

    monkeypatch.setattr(_bias_train, "stable_rank", interrupted_later)  # train and summarize use it
    out = ib.run_lab(tmp_path, init_scales=(1e-6, 1e-3), steps=3, n=10, d=200, width=5, progress=False)
    assert out["interrupted"] is True
    assert json.loads((tmp_path / "figures.json").read_text())["interrupted"] is True
    # records 0..3 and the final summary of the first scale use 5 calls; the 6th interrupts
    assert out["stable_rank"]["1e-06"]["steps"] == [0, 1, 2, 3] and "1e-06" in out["final"]
    assert out["stable_rank"]["0.001"]["values"] == [] and "0.001" not in out["final"]
    assert out["drift_vs_step_size"] == {}
    assert (tmp_path / "stable_rank.png").exists()
