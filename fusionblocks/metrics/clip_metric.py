"""The CLIP score as a metric object."""

from __future__ import annotations

from typing import Any

import torch

from .clip_scorer import CLIPScorer
from .metric import EvalBatch, Metric, register_metric
from .rprecision_metrics import clip_caption_embeddings, clip_image_embeddings

__all__ = ["CLIPScoreMetric"]


@register_metric("clip", paper="CLIPScore (Hessel et al. 2021)")
class CLIPScoreMetric(Metric):
    """Mean CLIP score ``100 · max(cos(image, caption), 0)`` of each image against its own caption.

    Args:
        scorer: A [`CLIPScorer`][fusionblocks.metrics.clip_scorer.CLIPScorer] (local weights).
        text_cache: A dict of caption embeddings to share with ``rprec_clip`` (each string encoded once).

    Shapes:
        Batches of ``(B, 3, H, W)`` images in ``[-1, 1]`` with ``B`` captions.
    """

    name = "clip"

    def __init__(self, scorer: CLIPScorer, text_cache: dict[str, torch.Tensor] | None = None) -> None:
        super().__init__()
        if not isinstance(scorer, CLIPScorer):
            raise TypeError(f"scorer: expected a CLIPScorer, got {type(scorer).__name__}")
        self.scorer = scorer
        self.text_cache = {} if text_cache is None else text_cache
        self.protocol["clip"] = scorer.description
        if scorer.random_weights:
            self.warnings.append("CLIP has RANDOM weights: CLIP score / CLIP R-precision are meaningless (test mode)")
        self._scores: list[torch.Tensor] = []

    def update(self, batch: EvalBatch) -> None:
        """Score the batch's images against their captions."""
        images = clip_image_embeddings(self.scorer, batch)
        texts = clip_caption_embeddings(self.scorer, list(batch.captions), self.text_cache)
        self._scores.append(100.0 * (images * texts).sum(-1).clamp(min=0.0).double())
        self._count(batch)

    def _compute(self) -> dict[str, Any]:
        scores = torch.cat(self._scores)
        return {"mean": float(scores.mean()), "std": float(scores.std(unbiased=False)), "num_samples": self.num_samples}
