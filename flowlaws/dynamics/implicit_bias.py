"""The leaky-ReLU implicit-bias lab (Frei, Vardi, Bartlett, Srebro, Hu; ICLR 2023).

Two-layer network ``f(x) = sum_j a_j phi(<w_j, x>)``, ``phi(z) = max(gamma z, z)``,
no biases, trained by gradient descent on the mean logistic loss over
nearly-orthogonal data (:func:`~flowlaws.dynamics.nearly_orthogonal_mixture`).

* **Second layer fixed** at ``a_j = +-1/sqrt(m)`` (half each), first layer
  ``W`` (``m x d``) trained. The paper shows: from a small initialisation,
  *one* step makes the stable rank ``||W||_F^2 / ||W||_2^2`` drop from its
  Gaussian value ``~ m d / (sqrt m + sqrt d)^2`` to a small constant, and it
  stays small; gradient flow converges in direction to a KKT point of the
  ``l2`` max-margin problem in parameter space, of rank at most 2, whose
  decision boundary is linear. This model has *no* conservation law
  (DESIGN section 4).
* **Both layers trained**: the per-neuron laws ``a_j^2 - ||w_j||^2`` are
  conserved by gradient flow; gradient descent changes each of them by
  exactly ``lr^2 (g_{a_j}^2 - ||g_{w_j}||^2)`` per step (the first-order terms
  cancel by homogeneity), so the drift over a fixed number of steps shrinks
  about 4x when ``lr`` halves, and about 2x over a fixed training *time*.

Measurements (see :func:`summarize`):

* ``stable_rank``; ``numerical_rank`` = number of singular values above
  ``rtol = 1e-2`` times the largest;
* ``min_margin`` ``min_i y_i f(x_i)`` and ``normalized_margin`` = it divided
  by ``||theta_T||^L`` (``theta_T`` the trained parameters, ``L`` the number of
  trained layers: ``f`` is ``L``-homogeneous in them);
* ``angle_deg``: the angle between the network's *linear part*
  ``((1 + gamma)/2) W^T a`` (``phi(z) = ((1+gamma)/2) z + ((1-gamma)/2)|z|``;
  at the paper's KKT points the decision boundary is exactly the hyperplane
  normal to this vector) and the **hard-margin linear SVM direction** through
  the origin on the training data (:func:`max_margin_linear`); plus the
  fraction of probe points where ``sign f(x) = sign <w_svm, x>``;
* the KKT residual of ``min ||theta_T||^2 / 2`` s.t. ``y_i f(x_i) >= 1``
  (:func:`kkt_residual`).

This module does not check the near-orthogonality of the data it is given;
use :func:`~flowlaws.dynamics.near_orthogonality` for that.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from flowlaws.errors import BudgetExceeded, InvalidArgument, UnsupportedArchitecture

from ._data import near_orthogonality, nearly_orthogonal_mixture
from ._integrators import gradient_flow
from ._monitor import LawMonitor
from ._networks import MLP, balancedness_laws

__all__ = [
    "stable_rank",
    "numerical_rank",
    "gaussian_stable_rank",
    "leaky_relu_stable_rank",
    "two_layer_network",
    "initial_parameters",
    "default_lr",
    "record_schedule",
    "BiasRun",
    "train",
    "margins",
    "max_margin_linear",
    "linear_part",
    "angle_deg",
    "sign_agreement",
    "kkt_residual",
    "summarize",
    "law_drift_vs_step_size",
    "gradient_flow_law_drift",
    "run_lab",
]

DEFAULT_INIT_SCALES = (1e-6, 1e-4, 1e-3, 1e-2, 1e-1)
DRIFT_INIT_SCALE = 1e-3  # both-layer runs: small init, below the edge of stability at lr0
DRIFT_STEPS = 10
DRIFT_HALVINGS = 7
GF_POINTS, GF_WIDTH = 8, 10  # the gradient-flow check runs on the first 8 points


# --------------------------------------------------------------------- ranks
def stable_rank(W: Any) -> float:
    """``||W||_F^2 / ||W||_2^2`` (``0.0`` for the zero matrix).

    Examples
    --------
    >>> stable_rank(np.eye(3))
    3.0
    >>> stable_rank(np.outer([1.0, 2.0], [3.0, 4.0]))
    1.0
    """
    s = np.linalg.svd(np.asarray(W, dtype=np.float64), compute_uv=False)
    return float((s**2).sum() / s[0] ** 2) if s.size and s[0] > 0 else 0.0


def numerical_rank(W: Any, *, rtol: float = 1e-2) -> int:
    """Number of singular values larger than ``rtol`` times the largest.

    Examples
    --------
    >>> numerical_rank(np.diag([1.0, 0.5, 1e-4]))
    2
    """
    s = np.linalg.svd(np.asarray(W, dtype=np.float64), compute_uv=False)
    return int((s > rtol * s[0]).sum()) if s.size and s[0] > 0 else 0


def gaussian_stable_rank(m: int, d: int) -> float:
    """The stable rank of an ``m x d`` Gaussian matrix, ``~ m d / (sqrt(m) + sqrt(d))^2``.

    Examples
    --------
    >>> round(gaussian_stable_rank(100, 2000), 2)
    66.79
    """
    return m * d / (math.sqrt(m) + math.sqrt(d)) ** 2


def leaky_relu_stable_rank(negative_slope: float) -> float:
    """The reference value ``1 + ((1 - gamma) / (1 + gamma))^2`` after one small-init step.

    One step from ``W ~ 0`` gives rows ``-lr a_j/(2n) sum_i y_i phi'(<w_j, x_i>) x_i``;
    writing ``phi' = (1+gamma)/2 + ((1-gamma)/2) sign`` splits ``W`` into a
    rank-one common part and a part with random signs, whose energy ratio is
    ``((1-gamma)/(1+gamma))^2`` for orthogonal points. It is an upper-bound-type
    value: the cluster means make the common part larger still.

    Examples
    --------
    >>> round(leaky_relu_stable_rank(0.1), 4)
    1.6694
    """
    g = float(negative_slope)
    return 1.0 + ((1.0 - g) / (1.0 + g)) ** 2


# ---------------------------------------------------------------- the model
def two_layer_network(d: int, m: int, *, negative_slope: float = 0.1) -> MLP:
    """The ``d -> m -> 1`` leaky-ReLU network without biases.

    Examples
    --------
    >>> two_layer_network(5, 4).variables[-1]
    'W2[0,3]'
    """
    return MLP([d, m, 1], "leaky_relu", bias=False, negative_slope=negative_slope)


def initial_parameters(net: MLP, *, init_scale: float, seed: int | np.random.Generator | None = 0) -> np.ndarray:
    """``W1`` with i.i.d. ``N(0, init_scale^2)`` entries, ``W2 = +-1/sqrt(m)`` (first half ``+``).

    Examples
    --------
    >>> net = two_layer_network(3, 2)
    >>> th = initial_parameters(net, init_scale=1e-3, seed=0)
    >>> th[net.slices["W2"]].round(4).tolist()
    [0.7071, -0.7071]
    """
    _check_two_layer(net)
    scale = float(init_scale)
    if not np.isfinite(scale) or scale < 0:
        raise InvalidArgument(f"init_scale={init_scale!r}: expected a finite float >= 0")
    m = net.layers[1]
    theta = net.init(scale=[scale, 0.0], seed=seed)
    theta[net.slices["W2"]] = np.where(np.arange(m) < (m + 1) // 2, 1.0, -1.0) / math.sqrt(m)
    return theta


def default_lr(X: Any) -> float:
    """The default step size ``n / max_i ||x_i||^2`` (the loss is a mean over ``n`` points).

    Examples
    --------
    >>> default_lr(np.eye(4))
    4.0
    """
    X = np.asarray(X, dtype=np.float64)
    return X.shape[0] / float((X**2).sum(axis=1).max())


def record_schedule(steps: int, *, points: int = 40) -> list[int]:
    """About ``points`` log-spaced steps in ``[0, steps]``, always with 0, 1 and ``steps``.

    Examples
    --------
    >>> record_schedule(10, points=5)
    [0, 1, 2, 3, 6, 10]
    """
    if steps <= 0:
        return [0]
    grid = np.unique(np.round(np.logspace(0, math.log10(steps), points)).astype(int))
    return sorted({0, 1, steps, *grid.tolist()})


def _check_two_layer(net: MLP) -> None:
    if not isinstance(net, MLP) or len(net.layers) != 3 or net.layers[2] != 1 or net.bias:
        raise UnsupportedArchitecture(
            f"network={net!r}: the lab needs a d -> m -> 1 network without biases; "
            "build it with two_layer_network(d, m)"
        )


def _W_a(net: MLP, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    (W, _), (a, _) = net.unpack(theta)
    return W, a[0]


# ------------------------------------------------------------------ training
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


# ------------------------------------------------------------------ geometry
def _trainable(net: MLP, frozen: Sequence[str]) -> tuple[np.ndarray, int]:
    if net.bias:
        raise UnsupportedArchitecture(
            f"{net!r}: biases break the homogeneity the max-margin problem needs; "
            "use a network without biases"
        )
    for name in frozen:
        if name not in net.slices:
            raise InvalidArgument(f"frozen={list(frozen)!r}: no block {name!r} in {net!r}")
    mask = ~net.mask(frozen) if frozen else np.ones(net.dim, dtype=bool)
    degree = sum(1 for l in range(1, net.depth + 1) if f"W{l}" not in frozen)
    if degree == 0:
        raise InvalidArgument("every layer is frozen: nothing is trained")
    return mask, degree


def margins(net: MLP, theta: Any, X: Any, y: Any, *, frozen: Sequence[str] = ()) -> dict[str, float]:
    """``min_margin = min_i y_i f(x_i)`` and ``normalized_margin = min_margin / ||theta_T||^L``.

    ``theta_T`` are the trained coordinates (all but ``frozen`` blocks) and ``L``
    the number of trained weight layers.

    Examples
    --------
    >>> net = MLP([1, 1, 1], "relu")
    >>> round(margins(net, [2.0, 1.0], [[1.0]], [1.0])["normalized_margin"], 12)   # 2 / 5
    0.4
    """
    mask, L = _trainable(net, frozen)
    theta = np.asarray(theta, dtype=np.float64)
    q = np.asarray(y, dtype=np.float64) * net.forward(theta, X)[:, 0]
    qmin = float(q.min())
    norm = float(np.linalg.norm(theta[mask]))
    return {"min_margin": qmin, "normalized_margin": qmin / norm**L if norm > 0 else float("nan")}


def max_margin_linear(X: Any, y: Any) -> np.ndarray:
    """The hard-margin linear SVM through the origin: ``argmin ||w||`` s.t. ``y_i <w, x_i> >= 1``.

    Solved in the dual (``min lambda^T Q lambda / 2 - sum lambda``, ``lambda >= 0``,
    ``Q = (y y^T) * (X X^T)``) by non-negative least squares; ``w = X^T (lambda * y)``.

    Raises
    ------
    InvalidArgument
        The Gram matrix is singular (points linearly dependent): the data may not
        be separable through the origin.

    Examples
    --------
    >>> max_margin_linear([[1.0, 0.0], [0.0, 2.0]], [1.0, -1.0]).tolist()
    [1.0, -0.5]
    """
    from scipy.optimize import nnls

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    Q = (y[:, None] * y[None, :]) * (X @ X.T)
    try:
        R = np.linalg.cholesky(Q).T
    except np.linalg.LinAlgError as err:
        raise InvalidArgument(
            "X X^T is singular: the points are linearly dependent; the linear "
            "max-margin problem through the origin needs independent points (d >= n)"
        ) from err
    rhs = np.linalg.solve(R.T, np.ones(len(y)))
    lam, _ = nnls(R, rhs, maxiter=50 * len(y))
    return X.T @ (lam * y)


def linear_part(net: MLP, theta: Any) -> np.ndarray:
    """``((1 + gamma)/2) W^T a``: the odd (linear) part of the two-layer network.

    Since ``phi(z) = ((1+gamma)/2) z + ((1-gamma)/2) |z|``, ``f(x) = <linear_part, x> + (even in x)``.
    """
    _check_two_layer(net)
    W, a = _W_a(net, np.asarray(theta, dtype=np.float64))
    return 0.5 * (1.0 + net.negative_slope) * (W.T @ a)


def angle_deg(u: Any, v: Any) -> float:
    """The angle between two vectors, in degrees.

    Examples
    --------
    >>> round(angle_deg([1.0, 0.0], [1.0, 1.0]), 6)
    45.0
    """
    u, v = np.asarray(u, dtype=np.float64), np.asarray(v, dtype=np.float64)
    c = float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))
    return math.degrees(math.acos(max(-1.0, min(1.0, c))))


def sign_agreement(net: MLP, theta: Any, w: Any, Z: Any) -> float:
    """Fraction of the points ``Z`` where ``sign f(z) = sign <w, z>``."""
    f = net.forward(theta, Z)[:, 0]
    return float(np.mean(np.sign(f) == np.sign(np.asarray(Z) @ np.asarray(w))))


def kkt_residual(net: MLP, theta: Any, X: Any, y: Any, *, frozen: Sequence[str] = ()) -> dict[str, float]:
    """KKT residual of ``min ||theta_T||^2 / 2`` s.t. ``y_i f(x_i; theta) >= 1``.

    ``theta`` is first rescaled (trained blocks only, ``f`` is ``L``-homogeneous
    in them) so that the smallest margin is 1. Then ``lambda >= 0`` minimises
    ``||theta_T - sum_i lambda_i y_i grad_T f(x_i)||`` (non-negative least squares).

    Returns
    -------
    dict
        ``stationarity``: that minimum divided by ``||theta_T||``;
        ``complementarity``: ``sum_i lambda_i (q_i - 1) / sum_i lambda_i q_i``
        (the share of the dual weight on points with margin ``q_i > 1``);
        ``support``: number of ``lambda_i > 0``. NaN when some margin is ``<= 0``.

    Examples
    --------
    >>> net = MLP([2, 1], [])          # a linear predictor: its own max-margin point
    >>> r = kkt_residual(net, [1.0, -1.0], np.eye(2), [1.0, -1.0])
    >>> r["stationarity"] < 1e-12, r["complementarity"] < 1e-12
    (True, True)
    """
    from scipy.optimize import nnls

    mask, L = _trainable(net, frozen)
    theta = np.asarray(theta, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    q = y * net.forward(theta, X)[:, 0]
    if q.min() <= 0:
        return {"stationarity": float("nan"), "complementarity": float("nan"), "support": 0}
    scaled = theta.copy()
    scaled[mask] *= q.min() ** (-1.0 / L)
    q = y * net.forward(scaled, X)[:, 0]
    A = (net.output_jacobian(scaled, X)[:, mask] * y[:, None])  # (n, D_T)
    t = scaled[mask]
    G = A @ A.T
    b = A @ t
    evals, U = np.linalg.eigh(G)
    keep = evals > evals.max() * 1e-12
    R = np.sqrt(evals[keep])[:, None] * U[:, keep].T
    lam, _ = nnls(R, (U[:, keep].T @ b) / np.sqrt(evals[keep]), maxiter=50 * len(q))
    res = t - A.T @ lam
    weight = float(lam @ q)
    return {
        "stationarity": float(np.linalg.norm(res) / np.linalg.norm(t)),
        "complementarity": float(lam @ (q - 1.0) / weight) if weight > 0 else float("nan"),
        "support": int((lam > 0).sum()),
    }


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


# ----------------------------------------------------------------------- lab
def _plot_stable_rank(path: str, results: dict[str, Any], ref: dict[str, float]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    ax = axes[0]
    for key, series in results["stable_rank"].items():
        ax.plot(series["steps"], series["values"], marker="o", ms=3, label=f"init scale {key}")
    ax.axhline(ref["gaussian"], color="grey", ls="--", lw=1, label=f"Gaussian estimate {ref['gaussian']:.1f}")
    ax.axhline(ref["leaky"], color="black", ls=":", lw=1, label=f"1+((1-γ)/(1+γ))² = {ref['leaky']:.2f}")
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xlim(left=0)
    ax.set_yscale("log")
    ax.set_xlabel("GD step (symlog)")
    ax.set_ylabel("stable rank ‖W‖_F² / ‖W‖₂²")
    ax.set_title("Stable rank of the first layer (second layer fixed)")
    ax.legend(fontsize=8)
    ax = axes[1]
    for key, series in results["numerical_rank"].items():
        ax.plot(series["steps"], series["values"], marker="o", ms=3, label=f"init scale {key}")
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xlim(left=0)
    ax.set_yscale("log")
    ax.set_xlabel("GD step (symlog)")
    ax.set_ylabel("numerical rank (σ_i > 0.01 σ_1)")
    ax.set_title("Numerical rank of the first layer")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_margin(path: str, results: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(17, 4.6))
    for key, series in results["normalized_margin"].items():
        axes[0].plot(series["steps"], series["values"], marker="o", ms=3, label=f"init scale {key}")
    for key, series in results["train_loss"].items():
        axes[1].plot(series["steps"], series["values"], marker="o", ms=3, label=f"init scale {key}")
    for key, series in results.get("kkt_stationarity", {}).items():
        axes[2].plot(series["steps"], series["values"], marker="o", ms=3, label=f"init scale {key}")
    axes[2].set_ylabel("KKT stationarity residual (relative)")
    axes[2].set_title("Distance to a max-margin KKT point")
    for ax in axes:
        ax.set_xscale("symlog", linthresh=1)
        ax.set_xlim(left=0)
        ax.set_xlabel("GD step (symlog)")
        ax.legend(fontsize=8)
    axes[0].set_ylabel("normalized margin min_i y_i f(x_i) / ‖W‖_F")
    axes[0].set_title("Normalized margin (second layer fixed)")
    axes[1].set_yscale("log")
    axes[1].set_ylabel("mean logistic loss")
    axes[1].set_title("Training loss")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_drift(path: str, drift: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5))
    for key, label, slope in (("fixed_steps", "fixed number of steps", 2), ("fixed_time", "fixed training time", 1)):
        part = drift.get(key) or {}
        lrs, vals = part.get("lrs", []), part.get("max_drift", [])
        if not vals:
            continue
        line = ax.loglog(lrs, vals, marker="o", label=f"GD, {label} ({part.get('description', '')})")[0]
        ref = vals[-1] * (np.asarray(lrs) / lrs[-1]) ** slope  # anchored at the smallest step
        ax.loglog(lrs, ref, ls="--", lw=1, color=line.get_color(), label=f"slope {slope} reference")
    gf = drift.get("gradient_flow") or {}
    if "max_drift" in gf:
        ax.axhline(max(gf["max_drift"], 1e-18), color="black", ls=":",
                   label=f"gradient flow ODE (rtol {gf['rtol']:g}, first {gf['n']} points, "
                   f"width {gf['width']}), t = {gf['t_end']:.3g}")
    ax.set_xlabel("step size η")
    ax.set_ylabel("max_j,t |h_j(θ_t) − h_j(θ_0)|,  h_j = a_j² − ‖w_j‖²")
    ax.set_title("Drift of the per-neuron laws, both layers trained")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return v if math.isfinite(v) else None
    return obj


def run_lab(
    out_dir: str | os.PathLike[str],
    *,
    init_scales: Sequence[float] = DEFAULT_INIT_SCALES,
    steps: int = 1000,
    seed: int = 0,
    progress: bool = True,
    n: int = 50,
    d: int = 2000,
    width: int = 100,
    negative_slope: float = 0.1,
) -> dict[str, Any]:
    """Run the implicit-bias lab; write PNG plots and ``figures.json`` into ``out_dir``.

    1. Data: ``n`` points of :func:`nearly_orthogonal_mixture` in dimension
       ``d`` (plus 1000 held-out points as probes).
    2. For every init scale: GD with the second layer fixed for ``steps``
       steps at :func:`default_lr`; stable rank, numerical rank, loss and
       normalized margin over steps; final margin, angle to the linear SVM,
       sign agreement, KKT residual.
    3. Both layers trained, init scale ``1e-3``: drift of ``a_j^2 - ||w_j||^2``
       for step sizes ``lr0 / 2^k`` (``k = 0..6``) over 10 steps (fixed steps)
       and over the time ``10 lr0`` (fixed time); gradient flow (DOP853,
       ``rtol = 1e-10``) over the same time on the first 8 points (width 10),
       where the flow is well posed, and an attempt on all ``n`` points with a
       budget of 1000 gradient evaluations: from a small init on these less
       orthogonal data the flow slides along activation kinks and the solver
       stalls (recorded as ``stalled``, not raised).

    Files: ``stable_rank.png`` (stable and numerical rank vs step, one line per
    init scale), ``margin.png`` (normalized margin, loss and KKT residual vs step),
    ``drift_vs_step_size.png`` and ``figures.json``.

    Parameters
    ----------
    out_dir : path
        Created if missing.
    init_scales : sequence of float
        Standard deviations of the first layer at initialisation.
    steps : int
        GD steps per init scale.
    seed : int
        Seed of data and initialisations.
    progress : bool
        Show a tqdm progress bar on stderr.
    n, d, width, negative_slope
        Sizes and ``gamma``.

    Returns
    -------
    dict
        The content of ``figures.json``. On Ctrl-C the figures measured so far
        are written and returned with ``"interrupted": true``.

    Raises
    ------
    InvalidArgument
        Bad sizes, scales or steps.
    """
    scales = [float(s) for s in init_scales]
    if not scales or any(not (math.isfinite(s) and s >= 0) for s in scales):
        raise InvalidArgument(f"init_scales={list(init_scales)!r}: expected finite floats >= 0")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise InvalidArgument(f"steps={steps!r} (type={type(steps).__name__}): expected an int >= 1")
    for name, v, lo in (("n", n, 2), ("d", d, 1), ("width", width, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise InvalidArgument(f"{name}={v!r}: expected an int >= {lo}")
    out = os.fspath(out_dir)
    os.makedirs(out, exist_ok=True)

    drift_steps, n_lrs = DRIFT_STEPS, DRIFT_HALVINGS
    total = len(scales) * steps + drift_steps * n_lrs + drift_steps * (2**n_lrs - 1)
    kkt_at = record_schedule(int(steps), points=8)
    from tqdm.auto import tqdm

    bar = tqdm(total=total, disable=not progress, desc="bias-lab", unit="step")
    timings: dict[str, float] = {}
    t_all = time.perf_counter()
    Xall, yall = nearly_orthogonal_mixture(n + 1000, d, seed=seed)
    X, y, Xtest = Xall[:n], yall[:n], Xall[n:]
    probes = {
        "test": Xtest,
        "gaussian": np.random.default_rng(seed + 1).standard_normal((1000, d)),
    }
    lr0 = default_lr(X)
    fig: dict[str, Any] = {
        "description": (
            "Leaky-ReLU implicit-bias lab (Frei et al., ICLR 2023): f(x) = sum_j a_j "
            "leaky_relu(<w_j, x>), logistic loss, GD. Keys: stable_rank / numerical_rank / "
            "normalized_margin / train_loss: {init_scale: {steps, values}} with the second "
            "layer fixed at +-1/sqrt(m); stable_rank_at_init and stable_rank_after_one_step: "
            "{init_scale: value}; final: figures after the last step per init scale "
            "(angle_deg: network linear part vs hard-margin linear SVM); drift_vs_step_size: "
            "both layers trained, per-neuron laws a_j^2 - ||w_j||^2."
        ),
        "interrupted": False,
        "config": {"n": n, "d": d, "width": width, "negative_slope": negative_slope,
                   "steps": int(steps), "seed": seed, "lr": lr0, "init_scales": scales,
                   "numerical_rank_rtol": 1e-2},
        "near_orthogonality": {"ratio": near_orthogonality(X),
                               "definition": "min_i ||x_i||^2 / (n max_{i!=k} |<x_i,x_k>|)"},
        "gaussian_stable_rank_estimate": gaussian_stable_rank(width, d),
        "leaky_relu_stable_rank_reference": leaky_relu_stable_rank(negative_slope),
        "stable_rank": {},
        "numerical_rank": {},
        "normalized_margin": {},
        "train_loss": {},
        "kkt_stationarity": {},
        "stable_rank_at_init": {},
        "stable_rank_after_one_step": {},
        "final": {},
        "drift_vs_step_size": {},
        "timings_seconds": timings,
        "files": [],
    }
    tick = (lambda k: bar.update(1)) if progress else None
    try:
        for s in scales:
            key = f"{s:g}"
            bar.set_description(f"bias-lab init {key}")
            run = train(X, y, width=width, init_scale=s, steps=int(steps), lr=lr0,
                        negative_slope=negative_slope, seed=seed, callback=tick, kkt_steps=kkt_at)
            fig["kkt_stationarity"][key] = {"steps": list(run.kkt_steps), "values": list(run.kkt_stationarity)}
            for name, series in (("stable_rank", run.stable_rank), ("numerical_rank", run.numerical_rank),
                                 ("normalized_margin", run.normalized_margin), ("train_loss", run.loss)):
                fig[name][key] = {"steps": list(run.steps), "values": list(series)}
            if run.stable_rank:
                fig["stable_rank_at_init"][key] = run.stable_rank[0]
            if len(run.stable_rank) > 1 and run.steps[1] == 1:
                fig["stable_rank_after_one_step"][key] = run.stable_rank[1]
            timings[f"train_init_{key}"] = run.seconds
            if run.interrupted:
                raise KeyboardInterrupt
            fig["final"][key] = summarize(run, X, y, probes=probes)

        lrs = [lr0 / 2**k for k in range(n_lrs)]
        for key, label, drift_at, description in (
            ("fixed_steps", "fixed steps", drift_steps, f"{drift_steps} steps each"),
            ("fixed_time", "fixed time", [drift_steps * 2**k for k in range(n_lrs)], f"time {drift_steps} x lr0"),
        ):
            bar.set_description(f"bias-lab drift ({label})")
            t0 = time.perf_counter()
            drift = law_drift_vs_step_size(X, y, lrs=lrs, steps=drift_at, width=width,
                                           init_scale=DRIFT_INIT_SCALE,
                                           negative_slope=negative_slope, seed=seed, callback=tick)
            drift["description"] = description
            drift["init_scale"] = DRIFT_INIT_SCALE
            fig["drift_vs_step_size"][key] = drift
            timings[f"drift_{key}"] = time.perf_counter() - t0
            if drift["interrupted"]:
                raise KeyboardInterrupt
        bar.set_description("bias-lab gradient flow")
        for key, (Xg, yg, wg, budget) in {
            "gradient_flow": (X[:GF_POINTS], y[:GF_POINTS], GF_WIDTH, 200_000),
            "gradient_flow_all_points": (X, y, width, 1000),
        }.items():
            t0 = time.perf_counter()
            info = {"n": len(yg), "width": wg, "init_scale": DRIFT_INIT_SCALE,
                    "near_orthogonality": near_orthogonality(Xg)}
            try:
                gf = gradient_flow_law_drift(Xg, yg, t_end=drift_steps * lr0, width=wg,
                                             init_scale=DRIFT_INIT_SCALE, negative_slope=negative_slope,
                                             seed=seed, max_nfev=budget)
            except BudgetExceeded as err:
                gf = {"stalled": True, "message": str(err), "t_end": drift_steps * lr0}
            fig["drift_vs_step_size"][key] = {**info, **gf}
            timings[key] = time.perf_counter() - t0
    except KeyboardInterrupt:
        fig["interrupted"] = True
    finally:
        bar.close()
    timings["total"] = time.perf_counter() - t_all
    try:
        if fig["stable_rank"]:
            _plot_stable_rank(os.path.join(out, "stable_rank.png"), fig,
                              {"gaussian": fig["gaussian_stable_rank_estimate"],
                               "leaky": fig["leaky_relu_stable_rank_reference"]})
            fig["files"].append("stable_rank.png")
            _plot_margin(os.path.join(out, "margin.png"), fig)
            fig["files"].append("margin.png")
        if fig["drift_vs_step_size"]:
            _plot_drift(os.path.join(out, "drift_vs_step_size.png"), fig["drift_vs_step_size"])
            fig["files"].append("drift_vs_step_size.png")
    except KeyboardInterrupt:
        fig["interrupted"] = True
    fig = _jsonable(fig)
    with open(os.path.join(out, "figures.json"), "w", encoding="utf-8") as fh:
        json.dump(fig, fh, indent=1)
    return fig
