"""Attribute accuracy on CaptionedShapes: do generated images show the colour, position, size, shape (and
relation) their captions ask for? Measured from the pixels, with a small CNN for the shape."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from itertools import permutations
from typing import Any, Sequence

import torch

from .._checks import check_image_features
from ..data.shapes import (
    DIAMETER_JITTER,
    SHAPES,
    SIZE_DIAMETERS,
    SQUARE_SIDE,
    TRIANGLE_CIRCUMRADIUS,
    CaptionedShapes,
    parse_caption,
    position_from_centroid,
)
from .shape_classifier import (
    WORKING_RESOLUTION,
    ShapeClassifier,
    ShapeClassifierReport,
    load_or_train_shape_classifier,
    to_working_resolution,
)
from .shapes_segmentation import palette_tensor, segment_objects

__all__ = ["ATTRIBUTES", "AttributeAccuracy", "MeasuredObject", "AttributeJudge", "size_thresholds"]

#: Attributes judged, in report order ("relation" only for two-object captions that state one).
ATTRIBUTES: tuple[str, ...] = ("color", "position", "size", "shape", "relation")


def size_thresholds() -> dict[str, float]:
    """Area threshold (fraction of the image) between "small" and "large" for each shape.

    The geometric mean of the largest small area and the smallest large area the renderer can produce (diameters
    ``SIZE_DIAMETERS ± DIAMETER_JITTER``; areas ``π/4 d²``, ``(0.85 d)²``, ``3√3/4 (0.6 d)²``).
    """
    factor = {
        "circle": math.pi / 4,
        "square": SQUARE_SIDE**2,
        "triangle": 3 * math.sqrt(3) / 4 * TRIANGLE_CIRCUMRADIUS**2,
    }
    small_max = SIZE_DIAMETERS["small"] + DIAMETER_JITTER
    large_min = SIZE_DIAMETERS["large"] - DIAMETER_JITTER
    return {shape: f * small_max * large_min for shape, f in factor.items()}  # sqrt(f s² · f l²) = f s l


@dataclass(frozen=True)
class MeasuredObject:
    """One object as measured from the pixels.

    Attributes:
        shape: Measured shape (one of ``SHAPES``).
        color: Measured colour name (one of ``COLORS``).
        size: ``"small"`` or ``"large"``.
        position: Region of the centroid (one of ``POSITIONS``).
        centroid: ``(x, y)`` in fractions of the image.
        area: Fraction of the image.
    """

    shape: str
    color: str
    size: str
    position: str
    centroid: tuple[float, float]
    area: float


@dataclass
class AttributeAccuracy:
    """Attribute accuracy over a set of (image, caption) pairs.

    Attributes:
        accuracy: Per attribute: correct / stated, over every object (or relation) a caption states; NaN when no
            caption states it.
        stated: Per attribute, how many were stated.
        all_correct: Fraction of images whose every stated attribute is correct.
        num_images: Images judged.
        unparsed: Captions outside the CaptionedShapes grammar (skipped).
        judge: The judge's own checks (shape classifier held-out accuracy, accuracy on real images).
        per_image: Per image, whether all its stated attributes were correct (bool list), for inspection.
    """

    accuracy: dict[str, float]
    stated: dict[str, int]
    all_correct: float
    num_images: int
    unparsed: int = 0
    judge: dict[str, Any] = field(default_factory=dict)
    per_image: list[bool] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without ``per_image``)."""
        return {
            "accuracy": dict(self.accuracy),
            "stated": dict(self.stated),
            "all_correct": self.all_correct,
            "num_images": self.num_images,
            "unparsed": self.unparsed,
            "judge": dict(self.judge),
        }


class _Tally:
    def __init__(self) -> None:
        self.correct = {a: 0 for a in ATTRIBUTES}
        self.stated = {a: 0 for a in ATTRIBUTES}
        self.per_image: list[bool] = []
        self.unparsed = 0

    def result(self, judge: dict[str, Any]) -> AttributeAccuracy:
        accuracy = {a: (self.correct[a] / self.stated[a] if self.stated[a] else float("nan")) for a in ATTRIBUTES}
        judged = len(self.per_image)
        return AttributeAccuracy(
            accuracy=accuracy,
            stated=dict(self.stated),
            all_correct=(sum(self.per_image) / judged) if judged else float("nan"),
            num_images=judged,
            unparsed=self.unparsed,
            judge=judge,
            per_image=list(self.per_image),
        )


def _relation(first: MeasuredObject, second: MeasuredObject) -> str:
    dx = first.centroid[0] - second.centroid[0]
    dy = first.centroid[1] - second.centroid[1]
    if abs(dx) >= abs(dy):
        return "left of" if dx < 0 else "right of"
    return "above" if dy < 0 else "below"


def _compare(scene: Any, measured: Sequence[MeasuredObject]) -> dict[str, tuple[int, int]]:
    """(correct, stated) per attribute for one caption against measured objects in a given order."""
    out = {a: [0, 0] for a in ATTRIBUTES}
    for k, wanted in enumerate(scene.objects):
        got = measured[k] if k < len(measured) else None
        for attr in ("color", "position", "size", "shape"):
            value = getattr(wanted, attr)
            if value is None:
                continue
            out[attr][1] += 1
            out[attr][0] += int(got is not None and getattr(got, attr) == value)
    if scene.relation is not None:
        out["relation"][1] += 1
        out["relation"][0] += int(len(measured) >= 2 and _relation(measured[0], measured[1]) == scene.relation)
    return {a: (c, s) for a, (c, s) in out.items()}


class AttributeJudge:
    """Judges generated CaptionedShapes images against the captions they were generated from.

    Per image (resized to 64×64): pixels take the nearest palette colour (background = black); the foreground splits
    into 8-connected objects; the caption's 1–2 objects are matched to the largest measured objects (for two
    objects, the order with more correct attributes is taken — a lenient matching). Per object: colour = majority
    palette colour of its pixels; position = region of its centroid (``position_from_centroid``); size = area above
    the per-shape threshold of [`size_thresholds`][fusionblocks.metrics.attribute_judge.size_thresholds]; shape =
    [`ShapeClassifier`][fusionblocks.metrics.shape_classifier.ShapeClassifier] on its mask crop.
    A relation is read from the two centroids (the larger offset decides left/right vs above/below).

    Args:
        classifier: A trained [`ShapeClassifier`][fusionblocks.metrics.shape_classifier.ShapeClassifier].
        classifier_report: Its held-out report (shown beside every verdict).
        self_check_images: Real held-out images judged at construction against their own captions (0 = skip); the
            result is ``judge_self_check`` in every verdict's ``judge`` dict, so the judge is checked too.
        seed: Seed of the self-check images.
        self_check_resolution: Side at which the self-check images are rendered (default: the working
            resolution, 64). Give the resolution of the images you will judge, so that the check says how well
            the judge reads real images at that size.

    Shapes:
        - images: ``(B, 3, H, W)`` in ``[-1, 1]``, any H = W; captions: ``B`` strings.
    """

    def __init__(
        self,
        classifier: ShapeClassifier,
        classifier_report: ShapeClassifierReport | None = None,
        *,
        self_check_images: int = 200,
        seed: int = 0,
        self_check_resolution: int | None = None,
    ) -> None:
        if not isinstance(classifier, ShapeClassifier):
            raise TypeError(f"classifier: expected a ShapeClassifier, got {type(classifier).__name__}")
        self.classifier = classifier.eval()
        self.classifier_report = classifier_report
        self._shapes = SHAPES
        self._parse = parse_caption
        self._position = position_from_centroid
        self._colors = palette_tensor()[1]
        self._thresholds = size_thresholds()
        self.self_check: dict[str, Any] = {}
        if self_check_images:
            resolution = self_check_resolution or WORKING_RESOLUTION
            check = self.check_on_real(int(self_check_images), resolution=resolution, seed=seed)
            self.self_check = {"images": check.num_images, "all_correct": check.all_correct,
                               "accuracy": check.accuracy, "resolution": resolution}

    @classmethod
    def build(
        cls,
        classifier_path: str | os.PathLike[str] | None = None,
        *,
        self_check_images: int = 200,
        seed: int = 0,
        self_check_resolution: int | None = None,
    ) -> "AttributeJudge":
        """Load the shape classifier cached at ``classifier_path`` (or train it in seconds and cache it there)."""
        classifier, report = load_or_train_shape_classifier(classifier_path, seed=seed)
        return cls(classifier, report, self_check_images=self_check_images, seed=seed,
                   self_check_resolution=self_check_resolution)

    def check_on_real(
        self, count: int, *, resolution: int = WORKING_RESOLUTION, seed: int = 0, max_objects: int = 2
    ) -> AttributeAccuracy:
        """Judge ``count`` real held-out CaptionedShapes images (test split) against their own captions.

        The images are rendered at ``resolution`` (the size of the images you judge), so the result is the
        judge's own accuracy at that size: the ceiling of what it can credit a generator with.

        Args:
            count: Number of images.
            resolution: Side at which they are rendered.
            seed: Seed of the scenes (offset from generators' usual seeds so that they differ).
            max_objects: 1 for one-object scenes only, 2 for a mix.

        Returns:
            The [`AttributeAccuracy`][fusionblocks.metrics.attribute_judge.AttributeAccuracy] on real images
            (its ``judge`` dict records the resolution and scene kind).
        """
        ds = CaptionedShapes(size=count, resolution=resolution, split="test", seed=seed + 7, max_objects=max_objects)
        images = torch.stack([ds.render(i) for i in range(count)])
        captions = [ds.captions(i)[0] for i in range(count)]
        result = self._judge(images, captions, include_judge=False)
        result.judge = {"resolution": resolution, "max_objects": max_objects, "source": "real rendered images"}
        return result

    @property
    def judge_info(self) -> dict[str, Any]:
        """The judge's own credentials: the shape classifier's held-out accuracy and the real-image self check."""
        info: dict[str, Any] = {
            "working_resolution": WORKING_RESOLUTION, "matching": "best of both orders for two objects"
        }
        if self.classifier_report is not None:
            info["shape_classifier_heldout_accuracy"] = self.classifier_report.heldout_accuracy
            info["shape_classifier_heldout_count"] = self.classifier_report.heldout_count
            info["shape_classifier_source"] = self.classifier_report.source
        if self.self_check:
            info["judge_self_check"] = self.self_check
        return info

    @torch.no_grad()
    def measure(self, images: torch.Tensor, k: int = 2) -> list[list[MeasuredObject]]:
        """The up-to-``k`` largest objects of each image, measured (largest first).

        Shapes:
            - images: ``(B, 3, H, W)`` in ``[-1, 1]``; output: ``B`` lists of
              [`MeasuredObject`][fusionblocks.metrics.attribute_judge.MeasuredObject].
        """
        images = check_image_features(images, "images", channels=3)
        seg = segment_objects(to_working_resolution(images), k=k)
        batch, slots = seg.valid.shape
        crops = seg.crops.reshape(batch * slots, *seg.crops.shape[2:])
        shape_ids = self.classifier(crops).argmax(-1).view(batch, slots)
        valid, area, centroid, color = seg.valid.tolist(), seg.area.tolist(), seg.centroid.tolist(), seg.color.tolist()
        shapes = shape_ids.tolist()
        out: list[list[MeasuredObject]] = []
        for b in range(batch):  # per-image bookkeeping on a handful of Python floats
            objects = []
            for j in range(slots):
                if not valid[b][j]:
                    continue
                shape = self._shapes[shapes[b][j]]
                cx, cy = centroid[b][j]
                objects.append(
                    MeasuredObject(
                        shape=shape,
                        color=self._colors[color[b][j]],
                        size="large" if area[b][j] > self._thresholds[shape] else "small",
                        position=self._position(cx, cy),
                        centroid=(cx, cy),
                        area=area[b][j],
                    )
                )
            out.append(objects)
        return out

    def _judge(self, images: torch.Tensor, captions: Sequence[str], include_judge: bool = True) -> AttributeAccuracy:
        tally = _Tally()
        self.update(tally, images, captions)
        return tally.result(self.judge_info if include_judge else {})

    def update(self, tally: "_Tally", images: torch.Tensor, captions: Sequence[str]) -> None:
        """Add the verdicts of one batch to ``tally`` (used by streaming evaluation)."""
        if isinstance(captions, str) or len(captions) != images.shape[0]:
            raise ValueError(f"captions: expected {images.shape[0]} caption strings (one per image)")
        measured = self.measure(images)
        for caption, objects in zip(captions, measured):
            try:
                scene = self._parse(caption, strict=False)
            except ValueError:
                tally.unparsed += 1
                continue
            best: dict[str, tuple[int, int]] | None = None
            n = min(len(scene.objects), len(objects))
            for order in permutations(range(len(objects)), n) if n else [()]:
                verdict = _compare(scene, [objects[i] for i in order])
                if best is None or sum(c for c, _ in verdict.values()) > sum(c for c, _ in best.values()):
                    best = verdict
            assert best is not None
            for attr, (correct, stated) in best.items():
                tally.correct[attr] += correct
                tally.stated[attr] += stated
            tally.per_image.append(all(c == s for c, s in best.values()))

    def new_tally(self) -> "_Tally":
        """An empty accumulator for [`update`][fusionblocks.metrics.attribute_judge.AttributeJudge.update] /
        ``result``."""
        return _Tally()

    def result(self, tally: "_Tally") -> AttributeAccuracy:
        """The [`AttributeAccuracy`][fusionblocks.metrics.attribute_judge.AttributeAccuracy] of everything added to
        ``tally``."""
        return tally.result(self.judge_info)

    def __call__(self, images: torch.Tensor, captions: Sequence[str]) -> AttributeAccuracy:
        """Judge ``images`` against ``captions``; see the class docstring for shapes."""
        return self._judge(images, captions)
