"""The two-layer leaky-ReLU network of the implicit-bias lab and its set-up.

``f(x) = sum_j a_j phi(<w_j, x>)``, ``phi(z) = max(gamma z, z)``, no biases;
the first layer ``W`` (``m x d``) starts Gaussian, the second at ``+-1/sqrt(m)``.
Re-exported by :mod:`flowlaws.dynamics.implicit_bias`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from flowlaws.errors import InvalidArgument, UnsupportedArchitecture

from ._networks import MLP

__all__ = ["two_layer_network", "initial_parameters", "default_lr", "record_schedule"]


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
