"""One call that samples images from captions and computes FID, KID, IS, R-precision, CLIP score and attribute
accuracy, streaming over batches. It needs only a sampling callable, so it works with any generator; the work is
done by the metric objects of [`fusionblocks.metrics.metric`][fusionblocks.metrics.metric]."""

from __future__ import annotations

import os
from typing import Any, Callable, Iterator, Sequence

import torch

from .inception import InceptionFeatureExtractor
from .metric import EvalBatch, Metric
from .report import EvalReport
from .suite import METRICS, MetricOptions, build_metrics, parse_metrics, run_metrics

__all__ = ["METRICS", "SampleFn", "evaluate", "evaluate_images", "parse_metrics", "caption_pool"]

#: Metrics that compare an image with its caption (the others need images only).
CAPTION_METRICS = ("rprec", "rprec_clip", "clip", "attributes")

#: ``sample_fn(captions) -> images``: ``B`` captions → ``(B, 3, H, W)`` float images in ``[-1, 1]``.
SampleFn = Callable[[list[str]], torch.Tensor]


def caption_pool(captions: Any, caption_class_ids: Any = None) -> tuple[list[str], torch.Tensor | None]:
    """Captions (and class ids when the source has them) from a list of strings or a dataset.

    A dataset with ``caption_bank()`` (CaptionedShapes, the AttnGAN datasets) gives every caption of every image
    with its class; another dataset, the ``"caption"`` (and ``"class_id"``) of each dict item.

    Raises:
        TypeError: ``captions`` is a single string or holds something else.
        ValueError: no caption, or ``caption_class_ids`` of the wrong shape.

    Shapes:
        Returns ``M`` strings and class ids ``(M,)`` long or None.
    """
    if isinstance(captions, str):
        raise TypeError("captions: expected a sequence of strings or a dataset, got a single str")
    class_ids: torch.Tensor | None = None
    if hasattr(captions, "caption_bank"):
        texts, _image_index, ids = captions.caption_bank()
        texts, class_ids = list(texts), torch.as_tensor(ids, dtype=torch.long)
    elif isinstance(captions, Sequence) and all(isinstance(c, str) for c in captions):
        texts = list(captions)
    elif hasattr(captions, "__len__") and hasattr(captions, "__getitem__"):
        items = [captions[i] for i in range(len(captions))]
        if not all(isinstance(it, dict) and isinstance(it.get("caption"), str) for it in items):
            raise TypeError("captions: dataset items must be dicts with a 'caption' string")
        ids = [it.get("class_id") for it in items]
        class_ids = torch.tensor(ids, dtype=torch.long) if all(isinstance(i, int) for i in ids) else None
        texts = [it["caption"] for it in items]
    else:
        raise TypeError(f"captions: expected a sequence of strings or a dataset, got {type(captions).__name__}")
    if not texts:
        raise ValueError("captions: expected at least one caption")
    if caption_class_ids is not None:
        class_ids = torch.as_tensor(caption_class_ids, dtype=torch.long)
        if class_ids.shape != (len(texts),):
            raise ValueError(f"caption_class_ids: expected shape ({len(texts)},), got {tuple(class_ids.shape)}")
    return texts, class_ids


def _check_batch(images: Any, count: int) -> torch.Tensor:
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"sample_fn: expected it to return a torch.Tensor, got {type(images).__name__}")
    if images.ndim != 4 or images.shape[0] != count or images.shape[1] != 3:
        raise ValueError(f"sample_fn: expected images of shape ({count}, 3, H, W), got {tuple(images.shape)}")
    if not images.is_floating_point():
        raise TypeError(f"sample_fn: expected floating-point images in [-1, 1], got dtype {images.dtype}")
    if not torch.isfinite(images).all():
        raise ValueError("sample_fn: returned NaN or infinite pixel values")
    return images.detach().float().cpu()


def _sampled_batches(sample_fn: SampleFn, texts: list[str], total: int, batch_size: int,
                     warnings: list[str]) -> Iterator[EvalBatch]:
    """Sample ``i`` uses caption ``i mod M``; values outside [-1, 1] are clamped (and reported once)."""
    index = torch.arange(total) % len(texts)
    for start in range(0, total, batch_size):
        rows = index[start : start + batch_size]
        captions = [texts[int(i)] for i in rows]
        images = _check_batch(sample_fn(captions), len(captions))
        if (float(images.min()) < -1.01 or float(images.max()) > 1.01) and not warnings:
            warnings.append("sample_fn returned values outside [-1, 1]; they are clamped")
        yield EvalBatch(images.clamp(-1.0, 1.0), captions, rows)


@torch.no_grad()
def evaluate(
    sample_fn: SampleFn,
    captions: Any,
    *,
    metrics: str | Sequence[str | Metric] = ("fid", "kid", "is"),
    num_samples: int | None = None,
    batch_size: int = 16,
    reference: Any = None,
    inception: InceptionFeatureExtractor | None = None,
    inception_weights: str | os.PathLike[str] | None = None,
    allow_random_weights: bool = False,
    resize_filter: str = "bilinear",
    clip_scorer: Any = None,
    clip_model: str = "ViT-B-32",
    clip_weights: str | os.PathLike[str] | None = None,
    text_encoder: Any = None,
    image_encoder: Any = None,
    caption_class_ids: torch.Tensor | Sequence[int] | None = None,
    rprec_candidates: int = 100,
    rprec_folds: int = 10,
    attribute_judge: Any = None,
    shape_classifier_path: str | os.PathLike[str] | None = None,
    is_splits: int = 10,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    seed: int = 0,
    device: str | torch.device = "cpu",
    protocol: dict[str, Any] | None = None,
) -> EvalReport:
    """Sample ``num_samples`` images from ``captions`` with ``sample_fn`` and compute ``metrics`` on them.

    Sample ``i`` uses caption ``i mod M`` (M captions), in batches of ``batch_size``; images are not kept, only what
    each metric accumulates. Each metric is a registered object
    ([`Metric`][fusionblocks.metrics.metric.Metric]); this function builds them, feeds them every batch and collects
    their results, each with its ``protocol`` (sample count, extractor and its weights' fingerprint, resizer,
    reference statistics' fingerprint, plus ``protocol`` given here). Randomness inside (KID subsets, R-precision
    draws) comes from local generators seeded by ``seed``; the global RNG is neither used nor seeded, so
    ``sample_fn`` should draw its noise from its own seeded generator for reproducible numbers.

    Metrics:
        - ``fid``: Fréchet distance of Inception pool features to ``reference``.
        - ``kid``: KID (cubic kernel, ``kid_subsets`` subsets of ``kid_subset_size``) to the reference features.
        - ``is``: Inception Score over ``is_splits`` splits.
        - ``rprec``: R-precision with ``text_encoder``/``image_encoder`` (e.g. the DAMSM pair): optimistic when they
          are the encoders the generator was trained against.
        - ``rprec_clip``: the same with the CLIP model of ``clip_scorer`` / ``clip_weights`` (an independent check).
        - ``clip``: CLIP score ``100·max(cos, 0)``, averaged.
        - ``attributes``: CaptionedShapes attribute accuracy (``attribute_judge`` or one built from
          ``shape_classifier_path``).

    Args:
        sample_fn: ``sample_fn(captions: list[str]) -> (B, 3, H, W)`` images in ``[-1, 1]``.
        captions: A list of captions, a dataset of dict items with ``"caption"`` (and optionally ``"class_id"``),
            or a dataset with ``caption_bank()`` such as
            [`CaptionedShapes`][fusionblocks.data.shapes.dataset.CaptionedShapes]
            (all its captions, with class ids).
        metrics: Names from ``METRICS`` (list or comma-separated string; ``"all"``), or metric objects.
        num_samples: Images to generate; default ``len(captions)``. Published FIDs use about 30,000.
        batch_size: Captions per ``sample_fn`` call.
        reference: For ``fid``/``kid``: an ``.npz`` path (``mu``/``sigma``; KID also needs ``features``), a
            [`FeatureStats`][fusionblocks.metrics.feature_stats.FeatureStats], real images ``(N, 3, H, W)`` / a
            dataset of them, or reference features ``(N, 2048)``. ``fusionblocks stats`` writes such files.
        inception: A ready [`InceptionFeatureExtractor`][fusionblocks.metrics.inception.InceptionFeatureExtractor];
            otherwise one is built from ``inception_weights``.
        inception_weights: Local Inception checkpoint (see ``InceptionFeatureExtractor``).
        allow_random_weights: Allow random Inception/CLIP weights (tests only; recorded and warned about).
        resize_filter: Resize filter to 299² for a built extractor.
        clip_scorer: A ready [`CLIPScorer`][fusionblocks.metrics.clip_scorer.CLIPScorer]; otherwise built from
            ``clip_model`` / ``clip_weights``.
        clip_model: open_clip architecture for a built scorer.
        clip_weights: Local open_clip checkpoint for a built scorer.
        text_encoder: Text encoder for ``rprec`` (returns ``TextFeatures``; its ``sentence`` is used).
        image_encoder: Image encoder for ``rprec`` (returns ``(regions, codes)``; the codes are used).
        caption_class_ids: Class of each caption (mismatches for R-precision come from other classes).
        rprec_candidates: Candidates per image (100; clipped to what the caption pool allows, and recorded). Only
            the captions some candidate names are encoded.
        rprec_folds: R-precision folds (10; clipped to N).
        attribute_judge: A ready [`AttributeJudge`][fusionblocks.metrics.attribute_judge.AttributeJudge].
        shape_classifier_path: Cache file of the judge's shape classifier (trained in seconds when absent).
        is_splits: IS splits (10; clipped to N).
        kid_subsets: KID subsets (100).
        kid_subset_size: KID subset size (1000; clipped to N).
        seed: Seed of the local generators (KID subsets, R-precision mismatches and folds).
        device: Device of the feature extractors.
        protocol: Entries recorded in every result's protocol (e.g. ``{"split": "test", "ema": True,
            "truncation": None}``).

    Returns:
        An [`EvalReport`][fusionblocks.metrics.report.EvalReport]; write it with
        [`write_json`][fusionblocks.metrics.report.write_json] / ``write_markdown``.

    Shapes:
        - ``sample_fn`` output: ``(B, 3, H, W)`` in ``[-1, 1]`` for ``B`` captions.
    """
    if not callable(sample_fn):
        raise TypeError(f"sample_fn: expected a callable captions -> images, got {type(sample_fn).__name__}")
    names = parse_metrics(metrics)
    texts, class_ids = caption_pool(captions, caption_class_ids)
    total = len(texts) if num_samples is None else int(num_samples)
    if total < 2:
        raise ValueError(f"num_samples: expected at least 2, got {total}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive int, got {batch_size!r}")
    options = MetricOptions(
        captions=texts, class_ids=class_ids, batch_size=batch_size, reference=reference, inception=inception,
        inception_weights=inception_weights, allow_random_weights=allow_random_weights, resize_filter=resize_filter,
        clip_scorer=clip_scorer, clip_model=clip_model, clip_weights=clip_weights, text_encoder=text_encoder,
        image_encoder=image_encoder, rprec_candidates=rprec_candidates, rprec_folds=rprec_folds,
        attribute_judge=attribute_judge, shape_classifier_path=shape_classifier_path, is_splits=is_splits,
        kid_subsets=kid_subsets, kid_subset_size=kid_subset_size, seed=seed, device=device,
    )
    built, shared = build_metrics(names, options)
    settings = {"metrics": list(built), "num_samples": total, "num_captions": len(texts), "batch_size": batch_size,
                "seed": seed, **shared}
    sampling_warnings: list[str] = []
    modes = [(m, m.training) for m in (text_encoder, image_encoder) if isinstance(m, torch.nn.Module)]
    for module, _ in modes:
        module.eval()
    try:
        batches = _sampled_batches(sample_fn, texts, total, batch_size, sampling_warnings)
        report = run_metrics(built, batches, settings=settings, protocol=protocol)
    finally:
        for module, training in modes:
            module.train(training)
    report.warnings[:0] = sampling_warnings
    return report


class _InOrder:
    """A ``sample_fn`` that returns stored images in order (evaluate asks for them in order, caption ``i`` first)."""

    def __init__(self, images: Any) -> None:
        self.images, self.position = images, 0

    def __call__(self, captions: list[str]) -> torch.Tensor:
        rows = range(self.position, self.position + len(captions))
        self.position += len(captions)
        if isinstance(self.images, torch.Tensor):
            return self.images[rows.start : rows.stop]
        return torch.stack([self.images[i]["image"] for i in rows])


def evaluate_images(
    images: Any,
    *,
    captions: Sequence[str] | None = None,
    metrics: str | Sequence[str | Metric] = ("fid", "kid", "is"),
    **kwargs: Any,
) -> EvalReport:
    """``evaluate`` on images already generated: a tensor, or a dataset of
    ``{"image", "caption"?}`` items such as [`ImageFolder`][fusionblocks.data.image_folder.ImageFolder] (what
    ``fusionblocks eval --images DIR`` uses). Image ``i`` goes with caption ``i``.

    Args:
        images: ``(N, 3, H, W)`` in ``[-1, 1]``, or a dataset of such images.
        captions: One caption per image (default: the items' ``"caption"``); only the caption metrics need them.
        metrics: As for ``evaluate``.
        **kwargs: The other arguments of ``evaluate`` (``reference``, ``inception_weights``, ``batch_size``, ...).

    Raises:
        ValueError: a caption metric without captions, or a caption count that differs from the image count.

    Shapes:
        images: ``(N, 3, H, W)`` or ``N`` items of ``(3, H, W)``.
    """
    count = len(images)
    if captions is None and not isinstance(images, torch.Tensor) and count and "caption" in images[0]:
        captions = [images[i]["caption"] for i in range(count)]
    names = [n for n in parse_metrics(metrics) if isinstance(n, str)]
    if captions is None:
        needing = [n for n in names if n in CAPTION_METRICS]
        if needing:
            raise ValueError(
                f"captions: metric(s) {needing} compare images with their captions; give captions (or put "
                "<name>.txt with the caption next to each image)"
            )
        captions = [f"image {i}" for i in range(count)]
    if len(captions) != count:
        raise ValueError(f"captions: expected {count} (one per image), got {len(captions)}")
    if kwargs.get("caption_class_ids") is None:  # mismatches for R-precision: other captions, not equal strings
        distinct: dict[str, int] = {}
        kwargs["caption_class_ids"] = [distinct.setdefault(c, len(distinct)) for c in captions]
    return evaluate(_InOrder(images), list(captions), metrics=metrics, num_samples=count, **kwargs)
