"""Per-attribute accuracy of generated images beside its chance level and the judge's own accuracy on real images:
the table the demo prints and writes, and that any CaptionedShapes evaluation can reuse."""

from __future__ import annotations

import math
from typing import Any

from ..data.shapes import COLORS, POSITIONS, RELATIONS, SHAPES, SIZES
from .attribute_judge import ATTRIBUTES, AttributeAccuracy

__all__ = ["chance_levels", "attribute_table", "format_attribute_table"]


def chance_levels() -> dict[str, float]:
    """Accuracy of a generator that draws each attribute uniformly at random: ``1 / number of values``."""
    return {"color": 1 / len(COLORS), "position": 1 / len(POSITIONS), "size": 1 / len(SIZES),
            "shape": 1 / len(SHAPES), "relation": 1 / len(RELATIONS)}


def attribute_table(generated: AttributeAccuracy, real: AttributeAccuracy | None = None) -> dict[str, dict[str, Any]]:
    """One row per attribute that some caption states: accuracy, correct and stated counts, chance, and the judge's
    accuracy on real images of the same kind (when given).

    Args:
        generated: The judge's verdict on generated images.
        real: The judge's verdict on real images at the same resolution
            ([`AttributeJudge.check_on_real`][fusionblocks.metrics.attribute_judge.AttributeJudge.check_on_real]).

    Returns:
        ``{attribute: {"accuracy", "correct", "count", "chance", "judge_on_real", "judge_on_real_count"}}``, plus an
        ``"all_correct"`` row (count = images; its chance is not defined and left ``None``).
    """
    chance = chance_levels()
    rows: dict[str, dict[str, Any]] = {}
    for attr in ATTRIBUTES:
        count = int(generated.stated.get(attr, 0))
        if not count:
            continue
        accuracy = float(generated.accuracy[attr])
        row: dict[str, Any] = {"accuracy": accuracy, "correct": round(accuracy * count), "count": count,
                               "chance": chance[attr]}
        if real is not None:
            row["judge_on_real"] = real.accuracy.get(attr, math.nan)
            row["judge_on_real_count"] = int(real.stated.get(attr, 0))
        rows[attr] = row
    images = generated.num_images
    rows["all_correct"] = {"accuracy": generated.all_correct, "correct": round(generated.all_correct * images),
                           "count": images, "chance": None}
    if real is not None:
        rows["all_correct"].update(judge_on_real=real.all_correct, judge_on_real_count=real.num_images)
    return rows


def format_attribute_table(rows: dict[str, dict[str, Any]]) -> str:
    """The rows of [`attribute_table`][fusionblocks.metrics.attribute_report.attribute_table] as aligned text."""
    lines = [f"{'attribute':<12} {'generated':>16} {'chance':>7} {'judge on real':>14}"]
    for attr, row in rows.items():
        got = f"{row['accuracy']:.0%} ({row['correct']}/{row['count']})"
        chance = f"{row['chance']:.0%}" if row.get("chance") is not None else "-"
        real = row.get("judge_on_real")
        real_text = f"{real:.0%} (n={row['judge_on_real_count']})" if real is not None and not math.isnan(real) else "-"
        lines.append(f"{attr:<12} {got:>16} {chance:>7} {real_text:>14}")
    return "\n".join(lines)
