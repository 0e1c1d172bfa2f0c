"""Fréchet distance: known answers, closed forms and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fusionblocks.metrics import (
    FeatureStats,
    fid_from_features,
    frechet_distance,
    trace_sqrt_product,
    trace_sqrt_product_of_features,
)


def _random_spd(rng: np.random.Generator, d: int) -> np.ndarray:
    a = rng.standard_normal((d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def test_fid_of_a_feature_set_against_itself_is_zero():
    rng = np.random.default_rng(0)
    features = rng.standard_normal((500, 64)) * 3.0 + 1.5
    assert fid_from_features(features, features) == pytest.approx(0.0, abs=1e-6)


def test_hand_computed_two_dimensional_cases():
    # diagonal covariances: tr sqrt(S1 S2) = sqrt(1*4) + sqrt(4*1) = 4; ||mu diff||^2 = 9 + 16
    value = frechet_distance([0.0, 0.0], np.diag([1.0, 4.0]), [3.0, 4.0], np.diag([4.0, 1.0]))
    assert value == pytest.approx(25.0 + 5.0 + 5.0 - 2.0 * 4.0, abs=1e-10)
    # identity vs [[2,1],[1,2]] (eigenvalues 3 and 1): 2 + 4 - 2 (sqrt(3) + 1)
    value = frechet_distance([1.0, 1.0], np.eye(2), [1.0, 1.0], [[2.0, 1.0], [1.0, 2.0]])
    assert value == pytest.approx(4.0 - 2.0 * math.sqrt(3.0), abs=1e-12)


def test_trace_sqrt_product_matches_eigenvalues_of_the_non_symmetric_product():
    rng = np.random.default_rng(1)
    s1, s2 = _random_spd(rng, 12), _random_spd(rng, 12)
    reference = np.sqrt(np.linalg.eigvals(s1 @ s2).real.clip(min=0)).sum()  # independent route
    assert trace_sqrt_product(s1, s2) == pytest.approx(reference, rel=1e-9)


@pytest.mark.parametrize("n", [2, 5, 16])
def test_trace_sqrt_product_of_features_is_exact_for_few_samples(n):
    """N <= D: tr sqrt(Σ1 Σ2) of Σ1 = cov(features) equals the nuclear norm of A L / sqrt(N-1) (A the centred
    features, Σ2 = L Lᵀ), an independent route through singular values; the D x D eigh route agrees only to the
    round-off it takes square roots of (Σ1 is singular)."""
    rng = np.random.default_rng(n)
    features = rng.standard_normal((n, 16)) * 2.0 + 0.3
    sigma = _random_spd(rng, 16)
    centred = features - features.mean(axis=0)
    exact = np.linalg.svd(centred @ np.linalg.cholesky(sigma), compute_uv=False).sum() / math.sqrt(n - 1)
    assert trace_sqrt_product_of_features(features, sigma) == pytest.approx(exact, rel=1e-12)
    assert trace_sqrt_product(np.cov(features, rowvar=False), sigma) == pytest.approx(exact, rel=1e-6)


@pytest.mark.parametrize("n1", [3, 16, 30])
def test_fid_from_features_takes_the_few_sample_route_only_when_n_is_at_most_d(n1):
    rng = np.random.default_rng(10 + n1)
    x = rng.standard_normal((n1, 16)) + 0.5
    y = rng.standard_normal((7, 16)) @ rng.standard_normal((16, 16)) * 0.5
    sx, sy = FeatureStats.from_features(x), FeatureStats.from_features(y)
    cross = trace_sqrt_product_of_features(x, sy.sigma) if n1 <= 16 else trace_sqrt_product(sx.sigma, sy.sigma)
    expected = float((sx.mu - sy.mu) @ (sx.mu - sy.mu) + np.trace(sx.sigma) + np.trace(sy.sigma) - 2 * cross)
    assert fid_from_features(x, y) == pytest.approx(expected, rel=1e-12)
    assert fid_from_features(x, sy) == pytest.approx(expected, rel=1e-12)
    assert fid_from_features(x, y) == pytest.approx(frechet_distance(sx.mu, sx.sigma, sy.mu, sy.sigma), rel=1e-6)
    assert fid_from_features(x, x) == pytest.approx(0.0, abs=1e-9)


def test_gaussian_samples_approach_the_closed_form():
    rng = np.random.default_rng(2)
    d = 4
    mu1, mu2 = np.zeros(d), np.array([1.0, 0.0, -0.5, 0.2])
    var1, var2 = np.array([1.0, 2.0, 0.5, 1.0]), np.array([2.0, 1.0, 0.5, 3.0])
    # commuting (diagonal) covariances: FID = |mu1-mu2|^2 + sum (sqrt(a) - sqrt(b))^2
    closed = float(((mu1 - mu2) ** 2).sum() + ((np.sqrt(var1) - np.sqrt(var2)) ** 2).sum())
    x = mu1 + rng.standard_normal((40000, d)) * np.sqrt(var1)
    y = mu2 + rng.standard_normal((40000, d)) * np.sqrt(var2)
    assert fid_from_features(x, y) == pytest.approx(closed, rel=0.03)  # sampling error of 40k draws
    assert frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2)) == pytest.approx(closed, abs=1e-12)
    # two samples of one distribution: small
    z = mu1 + rng.standard_normal((40000, d)) * np.sqrt(var1)
    assert fid_from_features(x, z) < 0.005


@given(st.integers(0, 10_000), st.integers(2, 6))
def test_symmetric_non_negative_and_mean_shift(seed, d):
    rng = np.random.default_rng(seed)
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    s1, s2 = _random_spd(rng, d), _random_spd(rng, d)
    forward, backward = frechet_distance(mu1, s1, mu2, s2), frechet_distance(mu2, s2, mu1, s1)
    assert forward >= 0.0
    assert forward == pytest.approx(backward, rel=1e-7, abs=1e-9)
    # same covariance: the distance is the squared mean difference only
    assert frechet_distance(mu1, s1, mu2, s1) == pytest.approx(float(((mu1 - mu2) ** 2).sum()), rel=1e-7, abs=1e-8)


def test_stats_input_and_errors_name_the_argument():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((50, 3))
    stats = FeatureStats.from_features(x)
    assert stats.meta["num_samples"] == 50
    assert fid_from_features(x, stats) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="mu2"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(2), np.eye(3))
    with pytest.raises(ValueError, match="sigma2"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(3), np.eye(2))
    with pytest.raises(ValueError, match="features1"):
        fid_from_features(np.zeros((1, 3)), x)
    with pytest.raises(ValueError, match="NaN"):
        fid_from_features(np.full((4, 3), np.nan), x)
