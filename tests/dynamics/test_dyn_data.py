"""Nearly-orthogonal mixtures and the near-orthogonality check."""

from __future__ import annotations

import numpy as np
import pytest

from flowlaws.dynamics import is_nearly_orthogonal, near_orthogonality, nearly_orthogonal_mixture
from flowlaws.errors import InvalidArgument


def test_mixture_shapes_labels_and_seed():
    X, y = nearly_orthogonal_mixture(30, 500, seed=3)
    assert X.shape == (30, 500) and y.shape == (30,)
    assert set(y.tolist()) == {-1.0, 1.0} and y.sum() == 0
    X2, y2 = nearly_orthogonal_mixture(30, 500, seed=3)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    assert not np.array_equal(X, nearly_orthogonal_mixture(30, 500, seed=4)[0])


def test_clusters_are_separated_by_their_mean():
    X, y = nearly_orthogonal_mixture(40, 4000, seed=0, mean_norm=20.0)
    mu = (X * y[:, None]).mean(axis=0)
    assert np.all(np.sign(X @ mu) == y)


def test_ratio_by_hand_and_check():
    X = np.array([[2.0, 0.0, 0.0], [0.0, 1.0, 0.1], [0.5, 0.0, 3.0]])
    # min ||x||^2 = 1.01; off-diagonal |<x_i, x_k>| max = 1.0; n = 3
    assert near_orthogonality(X) == pytest.approx(1.01 / 3.0)
    assert not is_nearly_orthogonal(X)
    assert is_nearly_orthogonal(X, factor=0.3)


def test_high_dimension_makes_data_nearly_orthogonal():
    X, _ = nearly_orthogonal_mixture(20, 20_000, seed=0)
    assert near_orthogonality(X) > 1.5 and is_nearly_orthogonal(X)
    X, _ = nearly_orthogonal_mixture(20, 200, seed=0)
    assert not is_nearly_orthogonal(X)


def test_errors():
    with pytest.raises(InvalidArgument, match="n=1"):
        nearly_orthogonal_mixture(1, 10, seed=0)
    with pytest.raises(InvalidArgument, match="noise"):
        nearly_orthogonal_mixture(4, 10, seed=0, noise=0.0)
    with pytest.raises(InvalidArgument, match="n >= 2"):
        near_orthogonality(np.ones((1, 3)))
