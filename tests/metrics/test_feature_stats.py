"""Reference statistics .npz files: our round trip and the pytorch-fid / DM-GAN / DF-GAN layout."""

from __future__ import annotations

import numpy as np
import pytest

from fusionblocks.metrics import FeatureStats, load_stats, save_stats


def test_npz_round_trip_keeps_stats_meta_and_features(tmp_path):
    rng = np.random.default_rng(0)
    features = rng.standard_normal((30, 5))
    stats = FeatureStats.from_features(features, meta={"resize_filter": "bilinear"}, keep_features=True)
    path = tmp_path / "ref.npz"
    save_stats(path, stats)
    with np.load(path) as raw:  # the standard keys are there for other tools
        assert {"mu", "sigma"} <= set(raw.files)
        np.testing.assert_array_equal(raw["mu"], features.mean(0))
    loaded = load_stats(path)
    np.testing.assert_array_equal(loaded.mu, stats.mu)
    np.testing.assert_array_equal(loaded.sigma, np.cov(features, rowvar=False))
    np.testing.assert_allclose(loaded.features, features.astype(np.float32))
    assert loaded.meta["resize_filter"] == "bilinear" and loaded.meta["num_samples"] == 30


def test_loads_a_plain_pytorch_fid_style_file(tmp_path):
    path = tmp_path / "bird_val.npz"
    mu, sigma = np.arange(4.0), np.eye(4) * 2.0
    np.savez(path, mu=mu, sigma=sigma)
    loaded = load_stats(path)
    np.testing.assert_array_equal(loaded.mu, mu)
    np.testing.assert_array_equal(loaded.sigma, sigma)
    assert loaded.features is None and loaded.meta["source_file"] == "bird_val.npz"


def test_bad_files_raise_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="path"):
        load_stats(tmp_path / "missing.npz")
    path = tmp_path / "wrong.npz"
    np.savez(path, mean=np.zeros(2))
    with pytest.raises(ValueError, match="'mu' and 'sigma'"):
        load_stats(path)
    with pytest.raises(ValueError, match="sigma"):
        FeatureStats(mu=np.zeros(3), sigma=np.eye(2))
