"""Seeded synthetic data for the simulations: nearly-orthogonal Gaussian mixtures.

The implicit-bias results (Frei et al., ICLR 2023) need *nearly-orthogonal*
training points: ``min_i ||x_i||^2 >= C n max_{i != k} |<x_i, x_k>|``.
:func:`near_orthogonality` reports the ratio (the largest ``C`` that holds) and
:func:`is_nearly_orthogonal` compares it with a chosen ``C``.

The ratio needs roughly ``d >~ (C n)^2 * 2 log(n)``: the cross products of
independent Gaussian noise are ``~ sqrt(d)``. These functions do not check
labels: any ``y`` is returned or accepted as is.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from flowlaws.errors import InvalidArgument

__all__ = ["nearly_orthogonal_mixture", "near_orthogonality", "is_nearly_orthogonal"]


def _count(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InvalidArgument(
            f"{name}={value!r} (type={type(value).__name__}): expected an int >= {minimum}"
        )
    return int(value)


def nearly_orthogonal_mixture(
    n: int,
    d: int,
    *,
    seed: int | np.random.Generator | None,
    mean_norm: float | None = None,
    noise: float = 1.0,
    balanced: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """A two-cluster Gaussian mixture ``x_i = y_i mu + noise * xi_i`` with labels ``y_i = +-1``.

    Parameters
    ----------
    n : int
        Number of points (``>= 2``).
    d : int
        Dimension (``>= 1``); near-orthogonality needs ``d`` well above ``n^2``.
    seed : int or Generator or None
        Randomness (keyword-only and required, so runs are reproducible on purpose).
    mean_norm : float, optional
        ``||mu||``; default ``d ** 0.25`` so that ``||mu||^2 = sqrt(d)`` is of the
        order of the noise cross products (the clusters are separable by ``mu``
        while the points stay nearly orthogonal).
    noise : float
        Standard deviation of each noise coordinate.
    balanced : bool
        Exactly ``n // 2`` points of label ``+1`` (then shuffled); else i.i.d. labels.

    Returns
    -------
    X : ndarray, shape (n, d)
    y : ndarray, shape (n,), values ``+-1.0``

    Raises
    ------
    InvalidArgument
        Bad sizes or scales.

    Examples
    --------
    >>> X, y = nearly_orthogonal_mixture(20, 20_000, seed=0)
    >>> X.shape, sorted(set(y.tolist()))
    ((20, 20000), [-1.0, 1.0])
    >>> is_nearly_orthogonal(X)
    True
    """
    n = _count("n", n, 2)
    d = _count("d", d, 1)
    noise = float(noise)
    if not np.isfinite(noise) or noise <= 0:
        raise InvalidArgument(f"noise={noise!r}: expected a finite float > 0")
    mu_norm = float(d) ** 0.25 if mean_norm is None else float(mean_norm)
    if not np.isfinite(mu_norm) or mu_norm < 0:
        raise InvalidArgument(f"mean_norm={mean_norm!r}: expected a finite float >= 0")
    rng = np.random.default_rng(seed)
    mu = rng.standard_normal(d)
    mu *= mu_norm / np.linalg.norm(mu)
    if balanced:
        y = np.where(np.arange(n) < n // 2, 1.0, -1.0)
        rng.shuffle(y)
    else:
        y = rng.choice(np.array([-1.0, 1.0]), size=n)
    X = y[:, None] * mu[None, :] + noise * rng.standard_normal((n, d))
    return X, y


def near_orthogonality(X: Any) -> float:
    """The ratio ``min_i ||x_i||^2 / (n * max_{i != k} |<x_i, x_k>|)``.

    The data are nearly orthogonal with constant ``C`` when the ratio is at
    least ``C``. Returns ``inf`` when all distinct points are orthogonal.

    Raises
    ------
    InvalidArgument
        ``X`` is not an ``(n, d)`` array with ``n >= 2``.

    Examples
    --------
    >>> near_orthogonality(np.eye(3))
    inf
    >>> near_orthogonality([[1.0, 0.0], [0.5, 1.0]])   # 1 / (2 * 0.5)
    1.0
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 2:
        raise InvalidArgument(f"X has shape {X.shape}: expected (n, d) with n >= 2")
    G = X @ X.T
    n = X.shape[0]
    off = np.abs(G[~np.eye(n, dtype=bool)]).max()
    min_sq = float(np.diag(G).min())
    if off == 0:
        return float("inf")
    return min_sq / (n * float(off))


def is_nearly_orthogonal(X: Any, *, factor: float = 1.0) -> bool:
    """Whether ``min_i ||x_i||^2 >= factor * n * max_{i != k} |<x_i, x_k>|``.

    Examples
    --------
    >>> is_nearly_orthogonal(np.eye(4), factor=100.0)
    True
    """
    return bool(near_orthogonality(X) >= float(factor))
