"""Evaluation metrics: FID / KID / IS on Inception features, CLIP score, R-precision and CaptionedShapes attribute
accuracy, plus ``evaluate`` (sample from captions → every metric → JSON / Markdown report).

Nothing here downloads weights: Inception and CLIP weights come from local files (random weights only when asked
for, and then recorded). ``timm`` and ``open_clip`` are imported only when an extractor is built, so importing this
package is cheap. See ``docs/evaluation.md`` for the protocol and how to compare with published numbers.
"""

from __future__ import annotations

from .attribute_judge import ATTRIBUTES, AttributeAccuracy, AttributeJudge, MeasuredObject, size_thresholds
from .attribute_report import attribute_table, chance_levels, format_attribute_table
from .attributes_metric import AttributesMetric
from .clip_metric import CLIPScoreMetric
from .clip_scorer import CLIPScorer, CLIPScoreResult, clip_score
from .evaluate import METRICS, SampleFn, caption_pool, evaluate, evaluate_images, parse_metrics
from .feature_stats import FeatureStats, load_stats, save_stats
from .frechet import fid_from_features, frechet_distance, trace_sqrt_product, trace_sqrt_product_of_features
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
from .shapes_segmentation import SegmentedObjects, hue_labels, segment_objects
from .suite import MetricOptions, build_metrics, run_metrics
from .text_probe import (
    TextProbeReport,
    linear_probe_accuracy,
    nearest_centroid_accuracy,
    one_attribute_alternatives,
    probe_text_features,
)

__all__ = [
    "as_reference_stats",
    "attribute_table",
    "AttributeAccuracy",
    "AttributeJudge",
    "ATTRIBUTES",
    "AttributesMetric",
    "build_metrics",
    "caption_pool",
    "chance_levels",
    "clip_score",
    "CLIPRPrecisionMetric",
    "CLIPScoreMetric",
    "CLIPScorer",
    "CLIPScoreResult",
    "compute_reference_stats",
    "create_metric",
    "EvalBatch",
    "EvalReport",
    "evaluate",
    "evaluate_images",
    "FeatureStats",
    "fid_from_features",
    "FIDMetric",
    "format_attribute_table",
    "format_markdown",
    "frechet_distance",
    "hue_labels",
    "inception_score",
    "InceptionFeatureExtractor",
    "InceptionFeatures",
    "InceptionMetric",
    "ISMetric",
    "ISResult",
    "kernel_inception_distance",
    "KIDMetric",
    "KIDResult",
    "linear_probe_accuracy",
    "load_inception_state_dict",
    "load_or_train_shape_classifier",
    "load_stats",
    "MeasuredObject",
    "Metric",
    "MetricOptions",
    "METRICS",
    "mmd2_unbiased",
    "nearest_centroid_accuracy",
    "one_attribute_alternatives",
    "parse_metrics",
    "polynomial_kernel",
    "probe_text_features",
    "r_precision",
    "r_precision_from_encoders",
    "register_metric",
    "RESIZE_FILTERS",
    "RPrecisionMetric",
    "RPrecisionResult",
    "run_metrics",
    "SampleFn",
    "save_stats",
    "score_candidates",
    "segment_objects",
    "SegmentedObjects",
    "ShapeClassifier",
    "ShapeClassifierReport",
    "size_thresholds",
    "stats_fingerprint",
    "TextProbeReport",
    "trace_sqrt_product",
    "trace_sqrt_product_of_features",
    "train_shape_classifier",
    "write_json",
    "write_markdown",
]
