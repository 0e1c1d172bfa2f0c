"""Evaluation metrics: FID / KID / IS on Inception features, CLIP score, R-precision and CaptionedShapes attribute
accuracy, plus :func:`evaluate` (sample from captions → every metric → JSON / Markdown report).

Nothing here downloads weights: Inception and CLIP weights come from local files (random weights only when asked
for, and then recorded). ``timm`` and ``open_clip`` are imported only when an extractor is built.
See ``docs/evaluation.md`` for the protocol and how to compare with published numbers.
"""

from __future__ import annotations

import importlib
from typing import Any

from .feature_stats import FeatureStats, load_stats, save_stats
from .frechet import fid_from_features, frechet_distance, trace_sqrt_product
from .inception_score import ISResult, inception_score
from .kid import KIDResult, kernel_inception_distance, mmd2_unbiased, polynomial_kernel
from .report import EvalReport, format_markdown, write_json, write_markdown

# name -> submodule, imported on first access (keeps `import fusionblocks.metrics` light, and lets
# r_precision.py be owned and written separately)
_LAZY: dict[str, str] = {
    "InceptionFeatureExtractor": "inception",
    "InceptionFeatures": "inception",
    "load_inception_state_dict": "inception",
    "RESIZE_FILTERS": "inception",
    "compute_reference_stats": "reference",
    "CLIPScorer": "clip_score",
    "CLIPScoreResult": "clip_score",
    "clip_score": "clip_score",
    "r_precision": "r_precision",
    "r_precision_from_encoders": "r_precision",
    "RPrecisionResult": "r_precision",
    "AttributeJudge": "attribute_judge",
    "AttributeAccuracy": "attribute_judge",
    "MeasuredObject": "attribute_judge",
    "ShapeClassifier": "shape_classifier",
    "train_shape_classifier": "shape_classifier",
    "load_or_train_shape_classifier": "shape_classifier",
    "evaluate": "evaluate",
    "parse_metrics": "evaluate",
    "METRICS": "evaluate",
}

__all__ = [
    "EvalReport",
    "FeatureStats",
    "ISResult",
    "KIDResult",
    "fid_from_features",
    "format_markdown",
    "frechet_distance",
    "inception_score",
    "kernel_inception_distance",
    "load_stats",
    "mmd2_unbiased",
    "polynomial_kernel",
    "save_stats",
    "trace_sqrt_product",
    "write_json",
    "write_markdown",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fusionblocks.metrics' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
