"""KID: the unbiased MMD² estimator against a direct double sum, unbiasedness, and sensitivity to a shift."""

from __future__ import annotations

import numpy as np
import pytest

from fusionblocks.metrics import kernel_inception_distance, mmd2_unbiased, polynomial_kernel


def _reference_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    d = x.shape[1]
    k = lambda a, b: (a @ b / d + 1.0) ** 3  # noqa: E731 - the kernel as written in the KID paper
    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_matches_the_double_sum_definition():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((7, 3)), rng.standard_normal((5, 3)) + 0.3
    assert mmd2_unbiased(x, y) == pytest.approx(_reference_mmd2(x, y), rel=1e-10)
    assert polynomial_kernel(x, y).shape == (7, 5)


def test_unbiased_near_zero_for_one_distribution_and_positive_for_a_shift():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((600, 16)), rng.standard_normal((600, 16))
    same = kernel_inception_distance(x, y, num_subsets=50, subset_size=100, seed=0)
    # unbiased: the mean over subsets sits within a few standard errors of 0
    assert abs(same.mean) < 4 * same.std / np.sqrt(same.num_subsets) + 1e-4
    shifted = kernel_inception_distance(x, y + 0.5, num_subsets=50, subset_size=100, seed=0)
    assert shifted.mean > 10 * max(abs(same.mean), same.std / np.sqrt(50))
    # a larger shift gives a larger distance
    assert kernel_inception_distance(x, y + 1.0, num_subsets=10, subset_size=100).mean > shifted.mean


def test_subset_size_is_clipped_and_seeded():
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((20, 4)), rng.standard_normal((30, 4))
    result = kernel_inception_distance(x, y, num_subsets=3, subset_size=1000, seed=5)
    assert result.subset_size == 20 and result.num_subsets == 3
    assert kernel_inception_distance(x, y, num_subsets=3, subset_size=1000, seed=5) == result
    with pytest.raises(ValueError, match="features2"):
        kernel_inception_distance(x, rng.standard_normal((30, 5)))
    with pytest.raises(ValueError, match="subset_size"):
        kernel_inception_distance(x, y, subset_size=1)


def test_mmd2_is_symmetric_and_order_invariant():
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((9, 6)), rng.standard_normal((11, 6)) * 1.3
    assert mmd2_unbiased(x, y) == pytest.approx(mmd2_unbiased(y, x), rel=1e-12)
    # row order does not matter
    assert mmd2_unbiased(x[::-1], y[::-1]) == pytest.approx(mmd2_unbiased(x, y), rel=1e-12)
