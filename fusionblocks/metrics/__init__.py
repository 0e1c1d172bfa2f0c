"""Evaluation metrics: FID / KID / IS on Inception features, CLIP score, R-precision and CaptionedShapes attribute
accuracy, plus ``evaluate`` (sample from captions → every metric → JSON / Markdown report).

Nothing here downloads weights: Inception and CLIP weights come from local files (random weights only when asked
for, and then recorded). ``timm`` and ``open_clip`` are imported only when an extractor is built, so importing this
package is cheap. See ``docs/evaluation.md`` for the protocol and how to compare with published numbers.
"""

from __future__ import annotations

from .attribute_judge import ATTRIBUTES, AttributeAccuracy, AttributeJudge, MeasuredObject, size_thresholds
from .attributes_metric import AttributesMetric
from .clip_metric import CLIPScoreMetric
from .clip_scorer import CLIPScorer, CLIPScoreResult, clip_score
from .evaluate import METRICS, SampleFn, caption_pool, evaluate, evaluate_images, parse_metrics
from .feature_stats import FeatureStats, load_stats, save_stats
from .frechet import fid_from_features, frechet_distance, trace_sqrt_product
from .inception import RESIZE_FILTERS, InceptionFeatureExtractor, InceptionFeatures, load_inception_state_dict
from .inception_metrics import FIDMetric, InceptionMetric, ISMetric, KIDMetric
from .inception_score import ISResult, inception_score
from .kid import KIDResult, kernel_inception_distance, mmd2_unbiased, polynomial_kernel
from .metric import EvalBatch, Metric, create_metric, register_metric
from .r_precision import RPrecisionResult, r_precision, r_precision_from_encoders, score_candidates
from .reference import as_reference_stats, compute_reference_stats, stats_fingerprint
from .report import EvalReport, format_markdown, write_json, write_markdown
from .rprecision_metrics import CLIPRPrecisionMetric, RPrecisionMetric
from .shape_classifier import (
    ShapeClassifier,
    ShapeClassifierReport,
    load_or_train_shape_classifier,
    train_shape_classifier,
)
from .shapes_segmentation import SegmentedObjects, segment_objects
from .suite import MetricOptions, build_metrics, run_metrics

__all__ = [
    "AttributesMetric",
    "CLIPRPrecisionMetric",
    "CLIPScoreMetric",
    "EvalBatch",
    "FIDMetric",
    "ISMetric",
    "InceptionMetric",
    "KIDMetric",
    "Metric",
    "MetricOptions",
    "RPrecisionMetric",
    "as_reference_stats",
    "build_metrics",
    "caption_pool",
    "evaluate_images",
    "create_metric",
    "register_metric",
    "run_metrics",
    "score_candidates",
    "stats_fingerprint",
    "ATTRIBUTES",
    "AttributeAccuracy",
    "AttributeJudge",
    "CLIPScoreResult",
    "CLIPScorer",
    "EvalReport",
    "FeatureStats",
    "ISResult",
    "InceptionFeatureExtractor",
    "InceptionFeatures",
    "KIDResult",
    "METRICS",
    "MeasuredObject",
    "RESIZE_FILTERS",
    "RPrecisionResult",
    "SampleFn",
    "SegmentedObjects",
    "ShapeClassifier",
    "ShapeClassifierReport",
    "clip_score",
    "compute_reference_stats",
    "evaluate",
    "fid_from_features",
    "format_markdown",
    "frechet_distance",
    "inception_score",
    "kernel_inception_distance",
    "load_inception_state_dict",
    "load_or_train_shape_classifier",
    "load_stats",
    "mmd2_unbiased",
    "parse_metrics",
    "polynomial_kernel",
    "r_precision",
    "r_precision_from_encoders",
    "save_stats",
    "segment_objects",
    "size_thresholds",
    "train_shape_classifier",
    "trace_sqrt_product",
    "write_json",
    "write_markdown",
]
