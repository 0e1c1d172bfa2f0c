"""Build the metric objects an evaluation asks for, sharing one Inception extractor, one CLIP model and one judge
between them, and run them over batches (the loop behind ``evaluate``)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import torch

from .attribute_judge import AttributeJudge
from .clip_scorer import CLIPScorer
from .inception import InceptionFeatureExtractor
from .metric import EvalBatch, Metric, create_metric
from .reference import as_reference_stats
from .report import EvalReport

__all__ = ["METRICS", "MetricOptions", "parse_metrics", "build_metrics", "run_metrics"]

#: Built-in metric names (``rprec_clip`` is R-precision with CLIP encoders).
METRICS: tuple[str, ...] = ("fid", "kid", "is", "rprec", "rprec_clip", "clip", "attributes")


def parse_metrics(metrics: str | Sequence[str | Metric]) -> list[str | Metric]:
    """``"fid,kid"``, ``["fid", "kid"]`` or metric objects → a validated, de-duplicated list (``"all"`` = every
    built-in metric).

    Raises:
        ValueError: an unknown name.
    """
    items = metrics.split(",") if isinstance(metrics, str) else list(metrics)
    out: list[str | Metric] = []
    for item in items:
        if isinstance(item, Metric):
            out.append(item)
            continue
        name = str(item).strip().lower()
        if name:
            out.append(name)
    names = [n for n in out if isinstance(n, str)]
    if names == ["all"] and len(out) == 1:
        return list(METRICS)
    unknown = [n for n in names if n not in METRICS]
    if unknown or not out:
        raise ValueError(f"metrics: unknown {unknown} (expected a subset of {list(METRICS)} or 'all')")
    return list(dict.fromkeys(out))


@dataclass
class MetricOptions:
    """What the built-in metrics need besides the images (see ``evaluate``
    for each field)."""

    captions: list[str] = field(default_factory=list)
    class_ids: torch.Tensor | None = None
    batch_size: int = 16
    reference: Any = None
    inception: InceptionFeatureExtractor | None = None
    inception_weights: str | os.PathLike[str] | None = None
    allow_random_weights: bool = False
    resize_filter: str = "bilinear"
    clip_scorer: Any = None
    clip_model: str = "ViT-B-32"
    clip_weights: str | os.PathLike[str] | None = None
    text_encoder: Any = None
    image_encoder: Any = None
    rprec_candidates: int = 100
    rprec_folds: int = 10
    attribute_judge: Any = None
    shape_classifier_path: str | os.PathLike[str] | None = None
    is_splits: int = 10
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    seed: int = 0
    device: str | torch.device = "cpu"


def build_metrics(names: Sequence[str | Metric], options: MetricOptions) -> tuple[dict[str, Metric], dict[str, Any]]:
    """The metric objects for ``names`` and the settings they share (extractor and CLIP descriptions).

    Extractors are built once, from local weights (random weights only with ``allow_random_weights``), without
    touching the global RNG.

    Raises:
        FileNotFoundError: missing weights (the message says which file to provide).
        ValueError: a metric lacks what it needs (reference statistics, encoders).
    """
    wanted = {n for n in names if isinstance(n, str)}
    settings: dict[str, Any] = {}
    o = options
    with torch.random.fork_rng(devices=[]):  # random-weight models draw their init from the global RNG
        extractor = None
        if wanted & {"fid", "kid", "is"}:
            extractor = o.inception or InceptionFeatureExtractor(
                o.inception_weights, allow_random_weights=o.allow_random_weights, resize_filter=o.resize_filter
            )
            extractor = extractor.to(o.device)
            settings["inception"] = extractor.description
        scorer = None
        if wanted & {"clip", "rprec_clip"}:
            scorer = o.clip_scorer
            if scorer is None:
                scorer = CLIPScorer(o.clip_model, o.clip_weights, allow_random_weights=o.allow_random_weights,
                                    device=o.device)
            settings["clip"] = scorer.description
        judge = None
        if "attributes" in wanted:
            judge = o.attribute_judge
            if judge is None:
                judge = AttributeJudge.build(o.shape_classifier_path)
    reference = None
    if wanted & {"fid", "kid"}:
        assert extractor is not None
        reference = as_reference_stats(o.reference, extractor, o.batch_size)
        settings["reference"] = dict(reference.meta)
    text_cache: dict[str, torch.Tensor] = {}
    pool = {"captions": o.captions, "class_ids": o.class_ids, "num_candidates": o.rprec_candidates,
            "folds": o.rprec_folds, "seed": o.seed, "batch_size": max(o.batch_size, 64)}
    arguments: dict[str, dict[str, Any]] = {
        "fid": {"extractor": extractor, "reference": reference},
        "kid": {"extractor": extractor, "reference": reference, "num_subsets": o.kid_subsets,
                "subset_size": o.kid_subset_size, "seed": o.seed},
        "is": {"extractor": extractor, "splits": o.is_splits},
        "clip": {"scorer": scorer, "text_cache": text_cache},
        "rprec": {"text_encoder": o.text_encoder, "image_encoder": o.image_encoder, **pool},
        "rprec_clip": {"scorer": scorer, "text_cache": text_cache, **pool},
        "attributes": {"judge": judge},
    }
    built: dict[str, Metric] = {}
    for item in names:
        if isinstance(item, Metric):
            built[item.name] = item
        else:
            built[item] = create_metric(item, **arguments[item])
    return built, settings


def run_metrics(
    metrics: dict[str, Metric],
    batches: Iterable[EvalBatch],
    *,
    settings: dict[str, Any] | None = None,
    protocol: dict[str, Any] | None = None,
) -> EvalReport:
    """Feed every batch to every metric, then compute them into an
    [`EvalReport`][fusionblocks.metrics.report.EvalReport].

    Args:
        metrics: Metric objects by name.
        batches: The batches (generated on the fly or read from disk).
        settings: Report-wide settings (sample count, extractor descriptions, ...).
        protocol: Entries added to every result's ``protocol`` (split, truncation, EMA, checkpoint, ...).

    Shapes:
        Batches of ``(B, 3, H, W)`` images in ``[-1, 1]``.
    """
    settings = dict(settings or {})
    for batch in batches:
        settings.setdefault("image_size", list(batch.images.shape[-2:]))
        for metric in metrics.values():
            metric.update(batch)
    report = EvalReport(settings=settings, warnings=[])
    for name, metric in metrics.items():
        report.metrics[name] = metric.compute(protocol)
    for metric in metrics.values():
        report.warnings.extend(w for w in metric.warnings if w not in report.warnings)
    return report
