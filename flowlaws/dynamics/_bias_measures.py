"""Measurements of the implicit-bias lab: ranks, margins and the max-margin geometry.

Stable and numerical rank of ``W``, normalized margin, the hard-margin linear
SVM through the origin, the network's linear part, and the KKT residual of the
``l2`` max-margin problem in parameter space. Re-exported by
:mod:`flowlaws.dynamics.implicit_bias`. Nothing here checks that the data are
separable or nearly orthogonal.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from flowlaws.errors import InvalidArgument, UnsupportedArchitecture

from ._bias_model import _check_two_layer, _W_a
from ._networks import MLP

__all__ = [
    "stable_rank",
    "numerical_rank",
    "gaussian_stable_rank",
    "leaky_relu_stable_rank",
    "margins",
    "max_margin_linear",
    "linear_part",
    "angle_deg",
    "sign_agreement",
    "kkt_residual",
]


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
