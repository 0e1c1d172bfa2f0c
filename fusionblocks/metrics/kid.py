"""Kernel Inception Distance: unbiased MMD² with the cubic polynomial kernel, averaged over random subsets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._arrays import as_float64_matrix

__all__ = ["KIDResult", "polynomial_kernel", "mmd2_unbiased", "kernel_inception_distance"]


@dataclass(frozen=True)
class KIDResult:
    """KID over subsets: mean and standard deviation of the per-subset unbiased MMD² estimates.

    Attributes:
        mean: Mean MMD² over subsets.
        std: Standard deviation over subsets.
        subset_size: Samples drawn (without replacement) from each set per subset.
        num_subsets: Number of subsets.
    """

    mean: float
    std: float
    subset_size: int
    num_subsets: int


def polynomial_kernel(x: np.ndarray, y: np.ndarray, degree: int = 3, coef0: float = 1.0) -> np.ndarray:
    """``k(x, y) = (x·y / d + coef0) ** degree`` for all pairs of rows.

    Shapes:
        - x: ``(N, D)``; y: ``(M, D)``; output ``(N, M)``.
    """
    return (x @ y.T / x.shape[1] + coef0) ** degree


def mmd2_unbiased(x: Any, y: Any, degree: int = 3, coef0: float = 1.0) -> float:
    """Unbiased MMD² estimate between samples ``x`` and ``y`` with the polynomial kernel.

    ``MMD²_u = Σ_{i≠j} k(x_i,x_j)/(m(m−1)) + Σ_{i≠j} k(y_i,y_j)/(n(n−1)) − 2 Σ_{i,j} k(x_i,y_j)/(m n)``.

    Shapes:
        - x: ``(m, D)``, y: ``(n, D)`` with m, n ≥ 2; output a float (may be slightly negative).
    """
    x = as_float64_matrix(x, "x", min_rows=2)
    y = as_float64_matrix(y, "y", min_rows=2)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"y: expected feature dimension {x.shape[1]} to match x, got shape {tuple(y.shape)}")
    m, n = x.shape[0], y.shape[0]
    k_xx = polynomial_kernel(x, x, degree, coef0)
    k_yy = polynomial_kernel(y, y, degree, coef0)
    k_xy = polynomial_kernel(x, y, degree, coef0)
    term_xx = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    term_yy = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return float(term_xx + term_yy - 2.0 * k_xy.mean())


def kernel_inception_distance(
    features1: Any,
    features2: Any,
    num_subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
    degree: int = 3,
    coef0: float = 1.0,
) -> KIDResult:
    """KID between two feature sets (Bińkowski et al. 2018), in float64.

    Each of ``num_subsets`` rounds draws ``subset_size`` rows without replacement from each set (clipped to the
    smaller set's size) and computes [`mmd2_unbiased`][fusionblocks.metrics.kid.mmd2_unbiased]; the mean and std over
    rounds are returned.

    Args:
        features1: First feature set (e.g. Inception pool features of generated images).
        features2: Second feature set (e.g. of real images).
        num_subsets: Rounds (≥ 1).
        subset_size: Rows per round from each set (≥ 2), clipped to ``min(N1, N2)``.
        seed: Seed of the subset sampler (numpy ``default_rng``).
        degree: Polynomial kernel degree in ``(x·y/d + coef0) ** degree``.
        coef0: Polynomial kernel offset.

    Shapes:
        - features1: ``(N1, D)``; features2: ``(N2, D)``.
    """
    x = as_float64_matrix(features1, "features1", min_rows=2)
    y = as_float64_matrix(features2, "features2", min_rows=2)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"features2: expected feature dimension {x.shape[1]} to match features1, got {tuple(y.shape)}")
    if not isinstance(num_subsets, int) or num_subsets < 1:
        raise ValueError(f"num_subsets: expected a positive int, got {num_subsets!r}")
    if not isinstance(subset_size, int) or subset_size < 2:
        raise ValueError(f"subset_size: expected an int >= 2, got {subset_size!r}")
    m = min(subset_size, x.shape[0], y.shape[0])
    rng = np.random.default_rng(seed)
    values = np.empty(num_subsets, dtype=np.float64)
    for i in range(num_subsets):  # loop over subsets (each one is a full vectorised kernel computation)
        xs = x[rng.choice(x.shape[0], m, replace=False)]
        ys = y[rng.choice(y.shape[0], m, replace=False)]
        values[i] = mmd2_unbiased(xs, ys, degree, coef0)
    return KIDResult(mean=float(values.mean()), std=float(values.std()), subset_size=m, num_subsets=num_subsets)
