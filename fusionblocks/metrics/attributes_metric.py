"""CaptionedShapes attribute accuracy as a metric object."""

from __future__ import annotations

from typing import Any

from .metric import EvalBatch, Metric, register_metric

__all__ = ["AttributesMetric"]


@register_metric("attributes", paper="fusionblocks CaptionedShapes judge")
class AttributesMetric(Metric):
    """Share of the attributes a CaptionedShapes caption states (colour, shape, size, position, relation) that the
    generated image shows, measured by an [`AttributeJudge`][fusionblocks.metrics.attribute_judge.AttributeJudge].

    Args:
        judge: The judge (``AttributeJudge.build(classifier_path)``).

    Shapes:
        Batches of ``(B, 3, H, W)`` images in ``[-1, 1]`` with ``B`` CaptionedShapes captions.
    """

    name = "attributes"

    def __init__(self, judge: Any) -> None:
        super().__init__()
        self.judge = judge
        self.tally = judge.new_tally()
        self.protocol["judge"] = "fusionblocks CaptionedShapes attribute judge"

    def update(self, batch: EvalBatch) -> None:
        """Judge the batch's images against their captions."""
        self.judge.update(self.tally, batch.images.cpu(), list(batch.captions))
        self._count(batch)

    def _compute(self) -> dict[str, Any]:
        return self.judge.result(self.tally).to_dict()
