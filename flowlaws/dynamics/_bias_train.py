"""Training runs of the implicit-bias lab: GD with recorded ranks and margins, law drift.

:func:`train` runs gradient descent on the two-layer leaky-ReLU network and
records what :mod:`._bias_measures` measures; :func:`summarize` gives the final
figures of a run; :func:`law_drift_vs_step_size` and
:func:`gradient_flow_law_drift` measure the drift of the per-neuron laws
``a_j^2 - ||w_j||^2`` when both layers train. Re-exported by
:mod:`flowlaws.dynamics.implicit_bias`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from flowlaws.errors import InvalidArgument

from ._bias_measures import (
    angle_deg,
    kkt_residual,
    linear_part,
    margins,
    max_margin_linear,
    numerical_rank,
    sign_agreement,
    stable_rank,
)
from ._bias_model import _W_a, default_lr, initial_parameters, record_schedule, two_layer_network
from ._data import nearly_orthogonal_mixture  # noqa: F401 (the doctests use it)
from ._integrators import gradient_flow
from ._monitor import LawMonitor
from ._networks import MLP, balancedness_laws

__all__ = ["BiasRun", "train", "summarize", "law_drift_vs_step_size", "gradient_flow_law_drift"]


@dataclass
class BiasRun:
    """What :func:`train` recorded.

    Attributes
    ----------
    steps : list of int
        Recorded steps.
    stable_rank, numerical_rank, loss, normalized_margin : list
        ``W``'s stable and numerical rank, the mean logistic loss and the
        normalized margin at each recorded step.
    kkt_steps, kkt_stationarity : list
        Steps where the KKT residual was computed, and its stationarity part
        (NaN before the data are separated).
    theta : ndarray
        The last parameters reached.
    interrupted : bool
        ``True`` when Ctrl-C stopped the run (the lists hold what was recorded).
    monitor : LawMonitor or None
        The per-neuron law monitor (both layers trained), recorded every step.
    """

    network: MLP
    init_scale: float
    lr: float
    train_second_layer: bool
    steps: list[int] = field(default_factory=list)
    stable_rank: list[float] = field(default_factory=list)
    numerical_rank: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    normalized_margin: list[float] = field(default_factory=list)
    kkt_steps: list[int] = field(default_factory=list)
    kkt_stationarity: list[float] = field(default_factory=list)
    theta: np.ndarray | None = None
    interrupted: bool = False
    seconds: float = 0.0
    monitor: LawMonitor | None = None

    @property
    def frozen(self) -> tuple[str, ...]:
        """The blocks kept fixed (``("W2",)`` unless both layers train)."""
        return () if self.train_second_layer else ("W2",)


def train(
    X: Any,
    y: Any,
    *,
    width: int = 100,
    init_scale: float,
    steps: int,
    lr: float | None = None,
    negative_slope: float = 0.1,
    train_second_layer: bool = False,
    seed: int = 0,
    record: Sequence[int] | None = None,
    kkt_steps: Sequence[int] = (),
    monitor_laws: bool | None = None,
    callback: Callable[[int], Any] | None = None,
) -> BiasRun:
    """Gradient descent on the two-layer leaky-ReLU network, recording ranks and margins.

    Parameters
    ----------
    X, y : array_like
        Data ``(n, d)`` and labels ``+-1``.
    width : int
        Number of hidden neurons ``m``.
    init_scale : float
        Standard deviation of the entries of ``W`` at initialisation.
    steps : int
        Number of GD steps.
    lr : float, optional
        Step size; default :func:`default_lr`.
    negative_slope : float
        ``gamma``.
    train_second_layer : bool
        Train ``a`` too (else it stays at ``+-1/sqrt(m)``).
    seed : int
        Seed of the initialisation.
    record : sequence of int, optional
        Steps where ranks, loss and margin are recorded (default :func:`record_schedule`).
    kkt_steps : sequence of int
        Steps where :func:`kkt_residual` is computed (costs ``n x dim`` memory).
    monitor_laws : bool, optional
        Log the per-neuron laws every step (default: when both layers train).
    callback : callable, optional
        ``callback(k)`` after every step (progress bars).

    Returns
    -------
    BiasRun
        Ctrl-C during the loop returns the partial run with ``interrupted=True``.

    Examples
    --------
    >>> X, y = nearly_orthogonal_mixture(10, 400, seed=0)
    >>> run = train(X, y, width=20, init_scale=1e-6, steps=1)
    >>> run.stable_rank[0] > 10 > 2.5 > run.stable_rank[1]
    True
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise InvalidArgument(f"X {X.shape} and y {y.shape}: expected (n, d) and (n,)")
    net = two_layer_network(X.shape[1], int(width), negative_slope=negative_slope)
    lr = default_lr(X) if lr is None else float(lr)
    if not lr > 0:
        raise InvalidArgument(f"lr={lr!r}: expected a float > 0")
    theta = initial_parameters(net, init_scale=init_scale, seed=seed)
    run = BiasRun(net, float(init_scale), lr, bool(train_second_layer))
    frozen = run.frozen
    grad = net.gradient_fn(X, y, frozen=frozen)
    wanted = set(record_schedule(steps) if record is None else record)
    kkt_wanted = set(kkt_steps)
    if monitor_laws or (monitor_laws is None and train_second_layer):
        run.monitor = LawMonitor(balancedness_laws(net))
    t0 = time.perf_counter()

    def log(k: int) -> None:
        if run.monitor is not None:
            run.monitor.record(theta, step=k, t=k * lr)
        if k in wanted:  # compute first, then append: an interrupt leaves equal lengths
            W, _ = _W_a(net, theta)
            row = (stable_rank(W), numerical_rank(W), net.loss(theta, X, y),
                   margins(net, theta, X, y, frozen=frozen)["normalized_margin"])
            run.steps.append(k)
            for series, value in zip((run.stable_rank, run.numerical_rank, run.loss,
                                      run.normalized_margin), row):
                series.append(value)  # type: ignore[attr-defined]
        if k in kkt_wanted:
            value = kkt_residual(net, theta, X, y, frozen=frozen)["stationarity"]
            run.kkt_steps.append(k)
            run.kkt_stationarity.append(value)

    try:
        log(0)
        for k in range(1, int(steps) + 1):
            theta = theta - lr * grad(theta)
            run.theta = theta
            log(k)
            if callback is not None:
                callback(k)
    except KeyboardInterrupt:
        run.interrupted = True
    run.theta = theta
    run.seconds = time.perf_counter() - t0
    return run


def summarize(run: BiasRun, X: Any, y: Any, *, probes: dict[str, Any] | None = None) -> dict[str, Any]:
    """Final figures of a run: loss, ranks, margins, angle, sign agreement, KKT residual.

    ``probes`` maps a name to points ``Z`` where the sign of ``f`` is compared
    with the linear SVM's (``sign_agreement_<name>``).
    """
    net, theta = run.network, run.theta
    assert theta is not None
    W, _ = _W_a(net, theta)
    w_svm = max_margin_linear(X, y)
    out: dict[str, Any] = {
        "init_scale": run.init_scale,
        "lr": run.lr,
        "steps": run.steps[-1] if run.steps else 0,
        "train_loss": net.loss(theta, X, y),
        "stable_rank": stable_rank(W),
        "numerical_rank": numerical_rank(W),
        **margins(net, theta, X, y, frozen=run.frozen),
        "angle_deg": angle_deg(linear_part(net, theta), w_svm),
        "sign_agreement_train": sign_agreement(net, theta, w_svm, X),
    }
    for name, Z in (probes or {}).items():
        out[f"sign_agreement_{name}"] = sign_agreement(net, theta, w_svm, Z)
    kkt = kkt_residual(net, theta, X, y, frozen=run.frozen)
    out.update({f"kkt_{k}": v for k, v in kkt.items()})
    return out


# --------------------------------------------------------------- conservation
def law_drift_vs_step_size(
    X: Any,
    y: Any,
    *,
    lrs: Sequence[float],
    steps: int | Sequence[int],
    width: int = 100,
    init_scale: float = 0.1,
    negative_slope: float = 0.1,
    seed: int = 0,
    callback: Callable[[int], Any] | None = None,
) -> dict[str, Any]:
    """Both layers trained by GD: drift of the per-neuron laws ``a_j^2 - ||w_j||^2`` per step size.

    Parameters
    ----------
    lrs : sequence of float
        Step sizes.
    steps : int or sequence of int
        Steps per run: one int (fixed number of steps: drift ``~ lr^2``) or
        one per step size (e.g. ``T / lr`` for a fixed time: drift ``~ lr``).

    Returns
    -------
    dict
        ``lrs``, ``steps``, ``max_drift`` (max over neurons and steps of
        ``|h_t - h_0|``), ``max_relative_drift``, ``ratios``
        (``max_drift[i] / max_drift[i+1]``), ``interrupted``.

    Examples
    --------
    >>> X, y = nearly_orthogonal_mixture(10, 400, seed=0)
    >>> lr = default_lr(X) / 8
    >>> out = law_drift_vs_step_size(X, y, lrs=[lr, lr / 2], steps=10, width=10)
    >>> 3.0 < out["ratios"][0] < 5.0     # ~4: the drift is O(lr^2) per step
    True
    """
    lrs = [float(v) for v in lrs]
    per = [int(steps)] * len(lrs) if isinstance(steps, (int, np.integer)) else [int(s) for s in steps]
    if len(per) != len(lrs):
        raise InvalidArgument(f"steps={steps!r}: expected one int or one per step size ({len(lrs)})")
    drift, rel = [], []
    interrupted = False
    for lr, k in zip(lrs, per):
        run = train(X, y, width=width, init_scale=init_scale, steps=k, lr=lr,
                    negative_slope=negative_slope, train_second_layer=True, seed=seed,
                    record=[], monitor_laws=True, callback=callback)
        assert run.monitor is not None
        if len(run.monitor.values) < 2:
            interrupted = True
            break
        rep = run.monitor.drift()
        drift.append(rep.max_drift)
        rel.append(rep.max_relative_drift)
        if run.interrupted:
            interrupted = True
            break
    return {
        "lrs": lrs[: len(drift)],
        "steps": per[: len(drift)],
        "max_drift": drift,
        "max_relative_drift": rel,
        "ratios": [drift[i] / drift[i + 1] for i in range(len(drift) - 1)],
        "interrupted": interrupted,
    }


def gradient_flow_law_drift(
    X: Any,
    y: Any,
    *,
    t_end: float,
    width: int = 100,
    init_scale: float = 0.1,
    negative_slope: float = 0.1,
    seed: int = 0,
    rtol: float = 1e-10,
    atol: float = 1e-12,
    max_nfev: int | None = 1_000_000,
) -> dict[str, Any]:
    """Both layers trained by gradient flow (adaptive ODE): drift of the per-neuron laws.

    Returns ``max_drift``, ``max_relative_drift``, ``nfev``, ``t_end`` and ``seconds``.

    The flow is non-smooth at activation kinks. When the data are not nearly
    orthogonal enough (roughly: ratio of :func:`near_orthogonality` below
    ``1 / gamma``) and the initialisation is small, the flow slides along kinks
    and the adaptive solver crawls; ``max_nfev`` then raises
    :class:`~flowlaws.errors.BudgetExceeded`. A larger ``init_scale`` (few
    kinks crossed) or data with a larger ratio avoid it.

    Examples
    --------
    >>> X, y = nearly_orthogonal_mixture(6, 1000, seed=0)
    >>> out = gradient_flow_law_drift(X, y, t_end=0.1, width=4)
    >>> out["max_drift"] < 1e-8
    True
    """
    X = np.asarray(X, dtype=np.float64)
    net = two_layer_network(X.shape[1], int(width), negative_slope=negative_slope)
    theta0 = initial_parameters(net, init_scale=init_scale, seed=seed)
    t0 = time.perf_counter()
    traj = gradient_flow(net.gradient_fn(X, y), theta0, t_end=t_end, n_eval=21, rtol=rtol,
                         atol=atol, max_nfev=max_nfev)
    mon = LawMonitor(balancedness_laws(net))
    mon.track(traj)
    rep = mon.drift()
    return {
        "t_end": float(t_end),
        "max_drift": rep.max_drift,
        "max_relative_drift": rep.max_relative_drift,
        "nfev": traj.info["nfev"],
        "rtol": rtol,
        "seconds": time.perf_counter() - t0,
    }
