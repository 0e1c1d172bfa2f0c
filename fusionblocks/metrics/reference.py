"""Reference statistics of real images: Inception features →
[`FeatureStats`][fusionblocks.metrics.feature_stats.FeatureStats] (``.npz`` with ``mu``/``sigma``)."""

from __future__ import annotations

import hashlib
import os
from typing import Any, Iterator

import numpy as np
import torch

from .feature_stats import FeatureStats, load_stats
from .inception import InceptionFeatureExtractor

__all__ = ["iter_image_batches", "compute_reference_stats", "as_reference_stats", "stats_fingerprint"]


def iter_image_batches(images: Any, batch_size: int) -> Iterator[torch.Tensor]:
    """Yield ``(b, 3, H, W)`` batches from a tensor of images or a dataset whose items are images or dicts with an
    ``"image"`` entry (e.g. [`fusionblocks.data.CaptionedShapes`][fusionblocks.data.shapes.dataset.CaptionedShapes]).

    Shapes:
        - images: ``(N, 3, H, W)`` tensor, or a sized dataset of ``(3, H, W)`` items; yields ``(b, 3, H, W)``.
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive int, got {batch_size!r}")
    if isinstance(images, torch.Tensor):
        if images.ndim != 4:
            raise ValueError(f"images: expected (N, 3, H, W), got shape {tuple(images.shape)}")
        yield from images.split(batch_size)
        return
    if not (hasattr(images, "__len__") and hasattr(images, "__getitem__")):
        raise TypeError(f"images: expected a (N, 3, H, W) tensor or a dataset, got {type(images).__name__}")
    total = len(images)
    for start in range(0, total, batch_size):
        items = [images[i] for i in range(start, min(start + batch_size, total))]
        tensors = [item["image"] if isinstance(item, dict) else item for item in items]
        yield torch.stack(tensors)


@torch.no_grad()
def compute_reference_stats(
    images: Any,
    extractor: InceptionFeatureExtractor,
    batch_size: int = 50,
    keep_features: bool = True,
    **meta: Any,
) -> FeatureStats:
    """Inception pool-feature statistics of real images (save them with
    [`save_stats`][fusionblocks.metrics.feature_stats.save_stats]).

    The metadata records the extractor description (weights, resize filter, ...), the image size and the number of
    images, so a later FID can check that the settings match.

    Shapes:
        - images: ``(N, 3, H, W)`` in ``[-1, 1]`` or a dataset of such images; output ``mu (2048,)``,
          ``sigma (2048, 2048)`` (and ``features (N, 2048)`` when ``keep_features``).
    """
    if not isinstance(extractor, InceptionFeatureExtractor):
        raise TypeError(f"extractor: expected an InceptionFeatureExtractor, got {type(extractor).__name__}")
    features, size = [], None
    for batch in iter_image_batches(images, batch_size):
        size = list(batch.shape[-2:])
        features.append(extractor(batch).pool.double().cpu())
    if not features:
        raise ValueError("images: no images given")
    info = {**extractor.description, "image_size": size, **meta}
    return FeatureStats.from_features(torch.cat(features), name="images", meta=info, keep_features=keep_features)


def stats_fingerprint(stats: FeatureStats) -> str:
    """First 16 hex digits of a SHA-256 over the float64 bytes of ``mu`` and ``sigma``: the same statistics give the
    same fingerprint whichever file or tool they come from (recorded with every FID/KID)."""
    digest = hashlib.sha256()
    for array in (stats.mu, stats.sigma):
        digest.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
    return digest.hexdigest()[:16]


def as_reference_stats(reference: Any, extractor: InceptionFeatureExtractor, batch_size: int = 50) -> FeatureStats:
    """FID/KID reference statistics from what the user gave: a
    [`FeatureStats`][fusionblocks.metrics.feature_stats.FeatureStats],
    an ``.npz`` path ([`load_stats`][fusionblocks.metrics.feature_stats.load_stats]), reference features
    ``(N, 2048)``, or real images / a dataset of them (features computed here with ``extractor``, kept for KID).

    Raises:
        ValueError: ``reference`` is None.

    Shapes:
        - reference: features ``(N, 2048)`` or images ``(N, 3, H, W)`` in ``[-1, 1]``.
    """
    if reference is None:
        raise ValueError("reference: FID/KID need reference statistics (.npz), real images or reference features")
    if isinstance(reference, FeatureStats):
        return reference
    if isinstance(reference, (str, os.PathLike)):
        return load_stats(reference)
    if isinstance(reference, torch.Tensor) and reference.ndim == 2:
        return FeatureStats.from_features(reference, name="reference", keep_features=True, meta={"source": "features"})
    return compute_reference_stats(reference, extractor, batch_size=batch_size, source="images")
