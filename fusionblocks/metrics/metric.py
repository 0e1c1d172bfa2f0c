"""Metric objects: ``update(batch)`` per batch of generated images, ``compute()`` at the end (torchmetrics style).

Every metric is registered with kind ``"metric"`` (``fusionblocks list metric``) and built with
[`create_metric`][fusionblocks.metrics.metric.create_metric]. ``evaluate`` is a loop over them; they work on their
own too:

    fid = create_metric("fid", extractor=extractor, reference="ref.npz")
    for images, captions in batches:
        fid.update(EvalBatch(images, captions))
    print(fid.compute())          # {"value": ..., "num_samples": ..., "protocol": {...}}

A batch caches what several metrics need (Inception features for FID/KID/IS, CLIP image embeddings for the CLIP
score and CLIP R-precision), so each is computed once per batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Sequence

import torch

from ..registry import create, register

__all__ = ["EvalBatch", "Metric", "register_metric", "create_metric"]


@dataclass
class EvalBatch:
    """One batch of generated images with the captions they were generated from.

    Args:
        images: Generated images in ``[-1, 1]`` (float32, CPU).
        captions: One caption per image.
        caption_index: Index of each caption in the evaluation's caption pool (R-precision needs it); default
            ``arange(B)``.

    Shapes:
        images: ``(B, 3, H, W)``; captions: ``B`` strings; caption_index: ``(B,)`` long.
    """

    images: torch.Tensor
    captions: Sequence[str]
    caption_index: torch.Tensor | None = None
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.images, torch.Tensor) or self.images.ndim != 4 or self.images.shape[1] != 3:
            shape = tuple(self.images.shape) if isinstance(self.images, torch.Tensor) else type(self.images).__name__
            raise ValueError(f"images: expected a (B, 3, H, W) tensor, got {shape}")
        if isinstance(self.captions, str) or len(self.captions) != self.images.shape[0]:
            raise ValueError(f"captions: expected {self.images.shape[0]} caption strings (one per image)")
        if self.caption_index is None:
            self.caption_index = torch.arange(self.images.shape[0])

    def cached(self, key: Any, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per batch and ``key`` (e.g. ``("inception", id(extractor))``), then reuse it."""
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]


class Metric:
    """Base class: accumulate with [`update`][fusionblocks.metrics.metric.Metric.update], finish with
    [`compute`][fusionblocks.metrics.metric.Metric.compute].

    Subclasses set ``name``, record what their numbers depend on in ``self.protocol`` (extractor and weights hash,
    resizer, reference statistics' hash, ...), and implement [`update`][fusionblocks.metrics.metric.Metric.update] and
    ``_compute``. [`compute`][fusionblocks.metrics.metric.Metric.compute]
    returns the numbers with ``"protocol"`` added (the metric's own entries, the sample count, and the caller's
    entries from ``extra_protocol``: split, truncation, EMA, ...).

    Shapes:
        [`update`][fusionblocks.metrics.metric.Metric.update] takes an
        [`EvalBatch`][fusionblocks.metrics.metric.EvalBatch].
    """

    name: ClassVar[str] = "metric"

    def __init__(self) -> None:
        self.protocol: dict[str, Any] = {}
        self.warnings: list[str] = []
        self.num_samples = 0

    def update(self, batch: EvalBatch) -> None:  # pragma: no cover - abstract
        """Add one batch."""
        raise NotImplementedError

    def _compute(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def compute(self, extra_protocol: dict[str, Any] | None = None) -> dict[str, Any]:
        """The metric's numbers, with ``"protocol"``: what they depend on.

        Raises:
            ValueError: Nothing was added with [`update`][fusionblocks.metrics.metric.Metric.update].
        """
        if self.num_samples == 0:
            raise ValueError(f"{self.name}: update() was never called, nothing to compute")
        result = self._compute()
        result["protocol"] = {**(extra_protocol or {}), "num_samples": self.num_samples, **self.protocol}
        return result

    def _count(self, batch: EvalBatch) -> None:
        self.num_samples += int(batch.images.shape[0])


def register_metric(name: str, **meta: Any) -> Callable[[type], type]:
    """Register a [`Metric`][fusionblocks.metrics.metric.Metric] subclass under ``name`` (kind ``"metric"``)."""

    def _add(cls: type) -> type:
        register("metric", name, cls, **meta)
        return cls

    return _add


def create_metric(name: str, /, **kwargs: Any) -> Metric:
    """Build the registered metric ``name`` (``fid``, ``kid``, ``is``, ``clip``, ``rprec``, ``rprec_clip``,
    ``attributes`` or a plugin's) with its constructor arguments."""
    metric = create("metric", name, **kwargs)
    if not isinstance(metric, Metric):
        raise TypeError(f"metric {name!r}: expected a fusionblocks.metrics.Metric, got {type(metric).__name__}")
    return metric
