"""Gaussian statistics (mean, covariance) of a feature set, saved/loaded as pytorch-fid-style ``.npz`` files."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._arrays import as_float64_matrix

__all__ = ["FeatureStats", "save_stats", "load_stats"]

_META_KEY = "fusionblocks_meta"


@dataclass
class FeatureStats:
    """Mean and covariance of a set of features, plus free-form provenance metadata.

    The covariance uses the unbiased ``1/(N-1)`` normalisation (``np.cov``), as pytorch-fid does.

    Attributes:
        mu: Mean ``(D,)`` float64.
        sigma: Covariance ``(D, D)`` float64.
        meta: Provenance (number of samples, image size, resize filter, feature extractor, ...).
        features: The features themselves when kept (KID needs them; FID only needs ``mu``/``sigma``).

    Shapes:
        - mu: ``(D,)``; sigma: ``(D, D)``; features: ``(N, D)`` or None.
    """

    mu: np.ndarray
    sigma: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)
    features: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.mu = np.asarray(self.mu, dtype=np.float64)
        self.sigma = np.asarray(self.sigma, dtype=np.float64)
        if self.mu.ndim != 1:
            raise ValueError(f"mu: expected a 1-D (D,) array, got shape {tuple(self.mu.shape)}")
        d = self.mu.shape[0]
        if self.sigma.shape != (d, d):
            raise ValueError(f"sigma: expected shape ({d}, {d}) to match mu, got {tuple(self.sigma.shape)}")
        if self.features is not None:
            self.features = np.asarray(self.features)
            if self.features.ndim != 2 or self.features.shape[1] != d:
                raise ValueError(f"features: expected shape (N, {d}) to match mu, got {tuple(self.features.shape)}")

    @property
    def dim(self) -> int:
        """Feature dimension D."""
        return int(self.mu.shape[0])

    @classmethod
    def from_features(
        cls, features: Any, *, name: str = "features", meta: dict[str, Any] | None = None, keep_features: bool = False
    ) -> "FeatureStats":
        """Fit mean and covariance to ``features`` in float64 (optionally keeping them, as float32, for KID).

        Shapes:
            - features: ``(N, D)`` with ``N >= 2``.
        """
        array = as_float64_matrix(features, name, min_rows=2)
        info = {"num_samples": int(array.shape[0])}
        info.update(meta or {})
        d = array.shape[1]
        return cls(
            mu=array.mean(axis=0),
            sigma=np.cov(array, rowvar=False).reshape(d, d),
            meta=info,
            features=array.astype(np.float32) if keep_features else None,
        )


def save_stats(path: str | os.PathLike[str], stats: FeatureStats) -> None:
    """Write ``stats`` to ``path`` as ``.npz`` with keys ``mu`` and ``sigma`` (pytorch-fid / DM-GAN / DF-GAN layout).

    The metadata goes into an extra string key ``fusionblocks_meta`` (JSON) and kept features into ``features``;
    other tools read only ``mu`` and ``sigma``.

    Shapes:
        - stats.mu ``(D,)``, stats.sigma ``(D, D)``.
    """
    if not isinstance(stats, FeatureStats):
        raise TypeError(f"stats: expected FeatureStats, got {type(stats).__name__}")
    with open(os.fspath(path), "wb") as handle:  # a file object keeps numpy from appending '.npz'
        extra: dict[str, np.ndarray] = {_META_KEY: np.array(json.dumps(stats.meta, sort_keys=True))}
        if stats.features is not None:
            extra["features"] = stats.features
        np.savez(handle, mu=stats.mu, sigma=stats.sigma, **extra)  # type: ignore[arg-type]  # numpy stub: **kwds


def load_stats(path: str | os.PathLike[str]) -> FeatureStats:
    """Read ``mu``/``sigma`` from a ``.npz`` file (ours, pytorch-fid's, DM-GAN's ``bird_val.npz``, DF-GAN's
    ``*_FIDK0.npz``).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the file lacks ``mu`` or ``sigma``.

    Shapes:
        - output: ``FeatureStats`` with ``mu (D,)``, ``sigma (D, D)``.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"path: reference statistics file {path!r} does not exist")
    with np.load(path, allow_pickle=False) as data:
        missing = [k for k in ("mu", "sigma") if k not in data.files]
        if missing:
            raise ValueError(
                f"path: {path!r} has no key(s) {missing}; expected an .npz with 'mu' and 'sigma' (found {data.files})"
            )
        meta: dict[str, Any] = {}
        if _META_KEY in data.files:
            meta = json.loads(str(data[_META_KEY]))
        meta.setdefault("source_file", os.path.basename(path))
        features = data["features"] if "features" in data.files else None
        return FeatureStats(mu=data["mu"], sigma=data["sigma"], meta=meta, features=features)
