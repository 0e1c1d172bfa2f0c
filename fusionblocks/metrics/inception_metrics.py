"""FID, KID and IS as metric objects over Inception features (one Inception forward per batch, shared)."""

from __future__ import annotations

from typing import Any

import torch

from ._arrays import as_float64_matrix
from .feature_stats import FeatureStats
from .frechet import fid_from_features
from .inception import InceptionFeatureExtractor, InceptionFeatures
from .inception_score import inception_score
from .kid import kernel_inception_distance
from .metric import EvalBatch, Metric, register_metric
from .reference import as_reference_stats, stats_fingerprint

__all__ = ["InceptionMetric", "FIDMetric", "KIDMetric", "ISMetric", "SMALL_FID_SAMPLES"]

#: Below this many samples FID is noticeably biased upwards (published numbers use about 30,000).
SMALL_FID_SAMPLES = 10_000


def _device(module: torch.nn.Module) -> torch.device:
    return next(module.parameters()).device


class InceptionMetric(Metric):
    """Shared part of FID / KID / IS: Inception features of each batch (computed once per batch and extractor).

    Args:
        extractor: An [`InceptionFeatureExtractor`][fusionblocks.metrics.inception.InceptionFeatureExtractor]
            with real weights (random weights only in tests: recorded and warned about).

    Shapes:
        Batches of ``(B, 3, H, W)`` images in ``[-1, 1]``.
    """

    def __init__(self, extractor: InceptionFeatureExtractor) -> None:
        super().__init__()
        if not isinstance(extractor, InceptionFeatureExtractor):
            raise TypeError(f"extractor: expected an InceptionFeatureExtractor, got {type(extractor).__name__}")
        self.extractor = extractor
        self.protocol.update(extractor.description)
        if extractor.random_weights:
            self.warnings.append("Inception has RANDOM weights: FID/KID/IS values are meaningless (test mode)")
        self._pools: list[torch.Tensor] = []
        self._logits: list[torch.Tensor] = []

    def features(self, batch: EvalBatch) -> InceptionFeatures:
        """The batch's Inception features (float32, CPU), shared with the other Inception metrics."""
        ext = self.extractor

        def run() -> InceptionFeatures:
            out = ext(batch.images.to(_device(ext)))
            return InceptionFeatures(pool=out.pool.float().cpu(), logits=out.logits.float().cpu())

        return batch.cached(("inception", id(ext)), run)

    def update(self, batch: EvalBatch) -> None:
        """Add the Inception features of ``batch``."""
        out = self.features(batch)
        self._pools.append(out.pool)
        self._logits.append(out.logits)
        self.protocol.setdefault("image_size", list(batch.images.shape[-2:]))
        self._count(batch)


class _ReferenceMetric(InceptionMetric):
    def _check_image_size(self) -> None:
        generated, reference = self.protocol.get("image_size"), self.reference.meta.get("image_size")
        if generated is not None and reference is not None and list(reference) != list(generated):
            message = (f"reference statistics were computed from {reference} images, the evaluated images are "
                       f"{generated}: make them at the same size (`fusionblocks stats --image-size`)")
            if message not in self.warnings:
                self.warnings.append(message)

    def __init__(self, extractor: InceptionFeatureExtractor, reference: Any, batch_size: int = 50) -> None:
        super().__init__(extractor)
        self.reference: FeatureStats = as_reference_stats(reference, extractor, batch_size)
        meta = self.reference.meta
        self.protocol["reference"] = {**meta, "fingerprint": stats_fingerprint(self.reference)}
        for key in ("weights_fingerprint", "resize_filter", "feature_extractor"):
            ref_value = meta.get(key)
            if ref_value is not None and ref_value != extractor.description.get(key):
                self.warnings.append(
                    f"reference statistics were computed with {key}={ref_value!r}, "
                    f"not {extractor.description.get(key)!r}"
                )


@register_metric("fid", paper="Heusel et al. 2017")
class FIDMetric(_ReferenceMetric):
    """Fréchet Inception distance of the generated images' pool features to reference statistics.

    Args:
        extractor: The Inception extractor.
        reference: ``.npz`` path, [`FeatureStats`][fusionblocks.metrics.feature_stats.FeatureStats], reference
            features ``(N, 2048)`` or real images.
        batch_size: Batch size when reference features must be computed from images.

    Shapes:
        Batches of ``(B, 3, H, W)`` images in ``[-1, 1]``.
    """

    name = "fid"

    def _compute(self) -> dict[str, Any]:
        self._check_image_size()
        generated = as_float64_matrix(torch.cat(self._pools), "generated features", min_rows=2)
        if self.num_samples < SMALL_FID_SAMPLES:
            self.warnings.append(
                f"FID from {self.num_samples} < {SMALL_FID_SAMPLES} samples is biased upwards; "
                "published numbers use ~30k"
            )
        return {
            "value": fid_from_features(generated, self.reference),
            "num_samples": self.num_samples,
            "reference_samples": self.reference.meta.get("num_samples"),
        }


@register_metric("kid", paper="Bińkowski et al. 2018")
class KIDMetric(_ReferenceMetric):
    """Kernel Inception distance (cubic polynomial kernel, unbiased MMD² over random subsets).

    Args:
        extractor: The Inception extractor.
        reference: As for FID, but with features (real images, or an ``.npz`` written with features).
        num_subsets: Subsets (100).
        subset_size: Rows per subset (1000; clipped to the sample count).
        seed: Seed of the subset draws (a local generator).
        batch_size: Batch size when reference features must be computed from images.

    Raises:
        ValueError: the reference has no features.

    Shapes:
        Batches of ``(B, 3, H, W)`` images in ``[-1, 1]``.
    """

    name = "kid"

    def __init__(self, extractor: InceptionFeatureExtractor, reference: Any, num_subsets: int = 100,
                 subset_size: int = 1000, seed: int = 0, batch_size: int = 50) -> None:
        super().__init__(extractor, reference, batch_size)
        if self.reference.features is None:
            raise ValueError("reference: KID needs reference features; give real images or an .npz with 'features'")
        self.num_subsets, self.subset_size, self.seed = num_subsets, subset_size, seed
        self.protocol.update({"kid_subsets": num_subsets, "kid_subset_size": subset_size, "seed": seed})

    def _compute(self) -> dict[str, Any]:
        self._check_image_size()
        assert self.reference.features is not None
        kid = kernel_inception_distance(
            torch.cat(self._pools), self.reference.features, self.num_subsets, self.subset_size, seed=self.seed
        )
        return {"mean": kid.mean, "std": kid.std, "num_subsets": kid.num_subsets, "subset_size": kid.subset_size}


@register_metric("is", paper="Salimans et al. 2016")
class ISMetric(InceptionMetric):
    """Inception score over ``splits`` contiguous splits (clipped to the sample count).

    Shapes:
        Batches of ``(B, 3, H, W)`` images in ``[-1, 1]``.
    """

    name = "is"

    def __init__(self, extractor: InceptionFeatureExtractor, splits: int = 10) -> None:
        super().__init__(extractor)
        self.splits = splits

    def _compute(self) -> dict[str, Any]:
        splits = min(self.splits, self.num_samples)
        score = inception_score(torch.cat(self._logits), splits=splits)
        return {"mean": score.mean, "std": score.std, "splits": score.splits, "num_classes": self.extractor.num_classes}
