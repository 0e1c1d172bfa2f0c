"""Fréchet distance between Gaussians fitted to feature sets (the "FID" formula), in float64 without scipy."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._arrays import as_float64_matrix, as_float64_vector
from .feature_stats import FeatureStats

__all__ = ["frechet_distance", "trace_sqrt_product", "trace_sqrt_product_of_features", "fid_from_features"]


def _psd_sqrt(sigma: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric positive semi-definite matrix (negative eigenvalues clipped to 0)."""
    sym = 0.5 * (sigma + sigma.T)
    eigvals, eigvecs = np.linalg.eigh(sym)
    return (eigvecs * np.sqrt(np.clip(eigvals, 0.0, None))) @ eigvecs.T


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """``tr(sqrt(Σ1 Σ2))`` for symmetric PSD ``Σ1, Σ2`` via eigenvalues.

    ``Σ1 Σ2`` is similar to the symmetric PSD matrix ``M = Σ1^½ Σ2 Σ1^½``, so the eigenvalues of ``sqrt(Σ1 Σ2)``
    are the square roots of the (real, non-negative) eigenvalues of ``M``. Computing them with ``eigh`` avoids the
    complex round-off that a general ``sqrtm`` of the non-symmetric product produces.

    Shapes:
        - sigma1, sigma2: ``(D, D)``.
        - output: a Python float.
    """
    root1 = _psd_sqrt(sigma1)
    middle = root1 @ sigma2 @ root1
    eigvals = np.linalg.eigvalsh(0.5 * (middle + middle.T))
    return float(np.sqrt(np.clip(eigvals, 0.0, None)).sum())


def trace_sqrt_product_of_features(features: np.ndarray, sigma: np.ndarray) -> float:
    """``tr(sqrt(Σ1 Σ2))`` with ``Σ1`` the covariance of ``features`` (``1/(N-1)``), exact, in ``O(N·D² + N³)``.

    With ``A`` the centred features, ``Σ1 = AᵀA/(N-1)``, and ``Σ1 Σ2`` has the same non-zero eigenvalues as the
    ``N×N`` symmetric positive semi-definite matrix ``A Σ2 Aᵀ/(N-1)``. Meant for ``N <= D`` (a smoke evaluation:
    2048-d Inception features of a few hundred images): it replaces two ``D×D`` eigen-decompositions, and it is also
    more accurate there, since ``Σ1`` is then singular and the ``D×D`` route takes square roots of its round-off-sized
    eigenvalues. For ``N > D`` use [`trace_sqrt_product`][fusionblocks.metrics.frechet.trace_sqrt_product].

    Shapes:
        - features: ``(N, D)`` float64 with ``N >= 2``; sigma: ``(D, D)``.
        - output: a Python float.
    """
    centred = features - features.mean(axis=0)
    middle = centred @ sigma @ centred.T / (features.shape[0] - 1)
    eigvals = np.linalg.eigvalsh(0.5 * (middle + middle.T))
    return float(np.sqrt(np.clip(eigvals, 0.0, None)).sum())


def frechet_distance(mu1: Any, sigma1: Any, mu2: Any, sigma2: Any) -> float:
    """Fréchet distance ``‖μ1−μ2‖² + tr(Σ1) + tr(Σ2) − 2 tr(sqrt(Σ1 Σ2))`` between two Gaussians, in float64.

    Args:
        mu1: Mean of the first Gaussian.
        sigma1: Covariance of the first Gaussian (symmetric positive semi-definite).
        mu2: Mean of the second Gaussian.
        sigma2: Covariance of the second Gaussian.

    Returns:
        The distance as a float (clipped at 0 against round-off).

    Raises:
        ValueError: shapes disagree or a covariance is not square.

    Shapes:
        - mu1, mu2: ``(D,)``; sigma1, sigma2: ``(D, D)``.
    """
    mu1 = as_float64_vector(mu1, "mu1")
    mu2 = as_float64_vector(mu2, "mu2")
    sigma1 = as_float64_matrix(sigma1, "sigma1")
    sigma2 = as_float64_matrix(sigma2, "sigma2")
    d = mu1.shape[0]
    if mu2.shape != (d,):
        raise ValueError(f"mu2: expected shape ({d},) to match mu1, got {tuple(mu2.shape)}")
    for name, sigma in (("sigma1", sigma1), ("sigma2", sigma2)):
        if sigma.shape != (d, d):
            raise ValueError(f"{name}: expected shape ({d}, {d}) to match the means, got {tuple(sigma.shape)}")
    diff = mu1 - mu2
    value = float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt_product(sigma1, sigma2))
    return max(value, 0.0)


def fid_from_features(features1: Any, features2: Any | FeatureStats) -> float:
    """FID between two feature sets (or a feature set and precomputed
    [`FeatureStats`][fusionblocks.metrics.feature_stats.FeatureStats]).

    With no more samples in ``features1`` than dimensions (``N1 <= D``), the cross term comes from
    [`trace_sqrt_product_of_features`][fusionblocks.metrics.frechet.trace_sqrt_product_of_features] (the same value,
    without ``D×D`` eigen-decompositions).

    Shapes:
        - features1: ``(N1, D)``; features2: ``(N2, D)`` or ``FeatureStats`` with ``mu (D,)``, ``sigma (D, D)``.
    """
    array1 = as_float64_matrix(features1, "features1", min_rows=2)
    stats1 = FeatureStats.from_features(array1, name="features1")
    stats2 = (
        features2 if isinstance(features2, FeatureStats) else FeatureStats.from_features(features2, name="features2")
    )
    if array1.shape[0] > array1.shape[1] or stats2.sigma.shape != stats1.sigma.shape:
        return frechet_distance(stats1.mu, stats1.sigma, stats2.mu, stats2.sigma)
    # no more samples than dimensions: the same distance through the N x N route (trace_sqrt_product_of_features)
    diff = stats1.mu - stats2.mu
    cross = trace_sqrt_product_of_features(array1, stats2.sigma)
    return max(float(diff @ diff + np.trace(stats1.sigma) + np.trace(stats2.sigma) - 2.0 * cross), 0.0)
