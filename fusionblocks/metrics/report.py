"""The evaluation report: a JSON-ready record and a Markdown table."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

__all__ = ["EvalReport", "json_safe", "write_json", "write_markdown", "format_markdown"]


@dataclass
class EvalReport:
    """Everything one evaluation produced.

    Attributes:
        metrics: Per metric name (``fid``, ``kid``, ``is``, ``rprec``, ``rprec_clip``, ``clip``, ``attributes``) a dict
            of numbers (e.g. ``{"value": 12.3}``, ``{"mean": .., "std": ..}``).
        settings: What the numbers depend on: number of samples, image size, batch size, seed, feature extractor,
            weights, resize filter, reference statistics, CLIP model, ...
        warnings: Reasons the numbers may not be comparable (random weights, few samples, mismatched reference).
    """

    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (NaN/inf become ``None``)."""
        return json_safe({"metrics": self.metrics, "settings": self.settings, "warnings": self.warnings})

    def to_markdown(self) -> str:
        """The report as Markdown (see [`format_markdown`][fusionblocks.metrics.report.format_markdown])."""
        return format_markdown(self)


def json_safe(value: Any) -> Any:
    """``value`` with non-finite floats replaced by ``None`` and 0-d tensors/arrays by numbers (for strict JSON)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        return json_safe(value.item())
    return value


def _num(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def _rows(name: str, entry: dict[str, Any]) -> list[tuple[str, str, str]]:
    if name == "fid":
        samples = f"{entry.get('num_samples')} samples vs {entry.get('reference_samples')} reference"
        return [("FID ↓", _num(entry.get("value"), 3), samples)]
    if name == "kid":
        value = f"{_num(entry.get('mean'), 5)} ± {_num(entry.get('std'), 5)}"
        return [("KID ↓", value, f"{entry.get('num_subsets')} subsets of {entry.get('subset_size')}")]
    if name == "is":
        value = f"{_num(entry.get('mean'), 3)} ± {_num(entry.get('std'), 3)}"
        return [("IS ↑", value, f"{entry.get('splits')} splits, {entry.get('num_classes')} classes")]
    if name in ("rprec", "rprec_clip"):
        label = "R-precision (DAMSM) ↑" if name == "rprec" else "R-precision (CLIP) ↑"
        mean, std = entry.get("mean"), entry.get("std")
        mean_pct = _num(100 * mean if mean is not None else None, 2)
        value = f"{mean_pct} ± {_num(100 * std if std is not None else None, 2)} %"
        return [(label, value, f"{entry.get('num_candidates')} candidates, {entry.get('folds')} folds")]
    if name == "clip":
        return [("CLIP score ↑", f"{_num(entry.get('mean'), 2)} ± {_num(entry.get('std'), 2)}", "100·max(cos, 0)")]
    if name == "attributes":
        rows = [("Attributes: all correct ↑", _num(entry.get("all_correct"), 3), f"{entry.get('num_images')} images")]
        for attr, acc in (entry.get("accuracy") or {}).items():
            rows.append((f"Attributes: {attr}", _num(acc, 3), f"{(entry.get('stated') or {}).get(attr)} stated"))
        judge = entry.get("judge") or {}
        if "shape_classifier_heldout_accuracy" in judge:
            rows.append((
                "Judge: shape classifier (real held-out)", _num(judge["shape_classifier_heldout_accuracy"], 4),
                f"{judge.get('shape_classifier_heldout_count')} objects",
            ))
        check = judge.get("judge_self_check")
        if check:
            images = f"{check.get('images')} images"
            rows.append(("Judge: all correct on real images", _num(check.get("all_correct"), 4), images))
        return rows
    return [(name, json.dumps(json_safe(entry)), "")]


def format_markdown(report: EvalReport) -> str:
    """A Markdown table of the metrics, followed by the settings and any warnings."""
    lines = ["| metric | value | notes |", "| --- | --- | --- |"]
    for name, entry in report.metrics.items():
        for label, value, note in _rows(name, entry):
            lines.append(f"| {label} | {value} | {note} |")
    lines += ["", "Settings:", ""]
    for key, value in report.settings.items():
        lines.append(f"- `{key}`: {json.dumps(json_safe(value), sort_keys=True)}")
    if report.warnings:
        lines += ["", "Warnings:", ""]
        lines += [f"- **{w}**" for w in report.warnings]
    return "\n".join(lines) + "\n"


def write_json(report: EvalReport, path: str | os.PathLike[str]) -> None:
    """Write ``report.to_dict()`` to ``path`` (UTF-8, indented, strict JSON)."""
    if not isinstance(report, EvalReport):
        raise TypeError(f"report: expected EvalReport, got {type(report).__name__}")
    with open(os.fspath(path), "w", encoding="utf-8") as handle:
        json.dump(report.to_dict(), handle, indent=2, sort_keys=False, allow_nan=False)
        handle.write("\n")


def write_markdown(report: EvalReport, path: str | os.PathLike[str]) -> None:
    """Write [`format_markdown`][fusionblocks.metrics.report.format_markdown] of ``report`` to ``path``."""
    if not isinstance(report, EvalReport):
        raise TypeError(f"report: expected EvalReport, got {type(report).__name__}")
    with open(os.fspath(path), "w", encoding="utf-8") as handle:
        handle.write(format_markdown(report))
