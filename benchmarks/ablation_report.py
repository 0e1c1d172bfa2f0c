"""Aggregating the ablation's runs (mean ± sd over seeds), calling differences against the seed spread, and
rendering the Markdown results (the run folder's ``results.md`` and the marked section of ``docs/ablation.md``).

The rule: a variant's mean differs from the reference's (full FF-GAN) by more than the seed spread when
``|mean_v - mean_ref| > sd_v + sd_ref`` (sample standard deviations over seeds). With fewer than two seeds per side
there is no spread and nothing is called.
"""

from __future__ import annotations

import math
import re
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

__all__ = [
    "METRIC_LABELS",
    "COST_FIELDS",
    "Finding",
    "stats_of",
    "aggregate",
    "spread_findings",
    "render_markdown",
    "replace_marked_section",
    "RESULTS_START",
    "RESULTS_END",
]

#: Table heading of every metric (``rprec`` is the DAMSM R-precision).
METRIC_LABELS: dict[str, str] = {
    "color": "colour",
    "shape": "shape",
    "size": "size",
    "position": "position",
    "relation": "relation",
    "all_correct": "all correct",
    "all_correct_two_objects": "all correct (2 objects)",
    "rprec": "R-precision",
}

#: Cost columns of a run, with their headings.
COST_FIELDS: dict[str, str] = {
    "steps": "steps",
    "charged_cpu_seconds": "charged CPU s",
    "text_cpu_seconds": "text-encoder CPU s",
    "fit_wall_seconds": "training wall s",
    "generator_parameters": "G parameters",
}

RESULTS_START = "<!-- ablation-results:start -->"
RESULTS_END = "<!-- ablation-results:end -->"


def _number(value: Any) -> float:
    """A stored number (JSON writes NaN as null) as a float."""
    return float(value) if value is not None else math.nan


def stats_of(values: Sequence[float | None]) -> dict[str, Any]:
    """Mean, sample sd (NaN below two values) and count of the finite ``values``, and the values themselves."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    mean = statistics.fmean(finite) if finite else math.nan
    sd = statistics.stdev(finite) if len(finite) >= 2 else math.nan
    return {"mean": mean, "sd": sd, "n": len(finite), "values": list(values)}


def aggregate(runs: Sequence[Mapping[str, Any]], metrics: Sequence[str], variants: Sequence[str]) -> dict[str, Any]:
    """Mean, sample sd and count over seeds of every metric and cost field, per variant.

    Args:
        runs: Per-run records with ``variant``, ``metrics`` (name -> value) and ``cost`` (name -> value).
        metrics: The metric names to aggregate.
        variants: The variants, in order.

    Returns:
        ``{variant: {"metrics": {name: {mean, sd, n, values}}, "cost": {...}}}``.
    """
    out: dict[str, Any] = {}
    for variant in variants:
        mine = [r for r in runs if r["variant"] == variant]
        out[variant] = {
            "metrics": {m: stats_of([r["metrics"].get(m, math.nan) for r in mine]) for m in metrics},
            "cost": {c: stats_of([_number(r["cost"].get(c)) for r in mine]) for c in COST_FIELDS},
        }
    return out


@dataclass(frozen=True)
class Finding:
    """One (variant, metric) comparison with the reference.

    Attributes:
        variant: The variant.
        metric: The metric.
        delta: ``mean_variant - mean_reference``.
        spread: ``sd_variant + sd_reference`` (NaN with fewer than two seeds on a side).
        exceeds: Whether ``|delta| > spread``.
    """

    variant: str
    metric: str
    delta: float
    spread: float
    exceeds: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def spread_findings(summary: Mapping[str, Any], reference: str, metrics: Sequence[str]) -> list[Finding]:
    """Compare every other variant's mean with ``reference``'s, metric by metric (rule in the module docstring)."""
    if reference not in summary:
        return []
    ref = summary[reference]["metrics"]
    found = []
    for variant, entry in summary.items():
        if variant == reference:
            continue
        for metric in metrics:
            a, b = entry["metrics"][metric], ref[metric]
            delta = _number(a["mean"]) - _number(b["mean"])
            spread = _number(a["sd"]) + _number(b["sd"])
            exceeds = _finite(delta) and _finite(spread) and abs(delta) > spread
            found.append(Finding(variant, metric, delta, spread, exceeds))
    return found


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _pm(stats: Mapping[str, Any], percent: bool) -> str:
    """``mean ± sd`` (percent: ×100 with one decimal; else one decimal, or none from 100 up); ``n/a`` when unknown."""
    mean, sd = stats["mean"], stats["sd"]
    if not _finite(mean):
        return "n/a"
    scale = 100.0 if percent else 1.0
    spec = ".1f" if percent or abs(mean) < 100 else ",.0f"
    text = format(scale * mean, spec)
    return text + (" ± " + format(scale * sd, spec) if _finite(sd) else "")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _findings_text(findings: Sequence[Finding], summary: Mapping[str, Any], reference: str,
                   seeds: int) -> list[str]:
    if reference not in summary:
        return [f"The reference variant {reference} was not run, so no difference is called."]
    if seeds < 2:
        return [f"With {seeds} seed there is no seed spread, so no difference is called."]
    ref = summary[reference]["metrics"]
    lines = []
    called = [f for f in findings if f.exceeds]
    for f in called:
        mine = summary[f.variant]["metrics"][f.metric]
        word = "higher" if f.delta > 0 else "lower"
        lines.append(
            f"- **{f.variant}** {METRIC_LABELS[f.metric]}: {_pm(mine, True)} vs {_pm(ref[f.metric], True)} for "
            f"{reference}, {abs(100 * f.delta):.1f} points {word} (spread {100 * f.spread:.1f})."
        )
    if not called:
        lines.append(f"- No variant differs from {reference} by more than the seed spread on any metric.")
    within: dict[str, list[str]] = {}
    for f in findings:
        if not f.exceeds:
            within.setdefault(f.variant, []).append(METRIC_LABELS[f.metric])
    for variant, names in within.items():
        lines.append(f"- {variant}: within the seed spread of {reference} on {', '.join(names)}.")
    return lines


def render_markdown(results: Mapping[str, Any], grid_link: Callable[[str], str | None]) -> str:
    """The results section: run facts, metric table, cost table, called differences, sample grids.

    Args:
        results: The ablation's JSON (``results.json``) as a dict.
        grid_link: Variant -> relative link of its sample grid (None: no grid shown).
    """
    metrics = list(results["metrics"])
    variants = list(results["variants"])
    summary = results["summary"]
    reference = results["reference"]
    seeds = results["seeds"]
    settings = results["settings"]
    lines = [
        f"Command: `{results['command']}`",
        "",
        f"Seeds {', '.join(map(str, seeds))}; budget {settings['cpu_seconds']:g} charged CPU seconds per run "
        f"({'text encoder included' if settings['charge_text'] else 'frozen text encoder not charged'}); "
        f"batch {settings['batch_size']}; {settings['eval_count']} held-out captions per run; "
        f"R-precision: 1 true of {settings['rprec_candidates']} candidates, {settings['rprec_folds']} folds. "
        f"{results['versions'].get('torch_threads', '?')} torch thread(s); fusionblocks "
        f"{results['versions'].get('fusionblocks', '?')} ({results['versions'].get('git_commit', 'unknown commit')}), "
        f"torch {results['versions'].get('torch', '?')}; finished {results.get('finished', '?')}.",
        "",
    ]
    if results.get("quick"):
        lines += ["!!! warning \"Quick mode\"", "    A `--quick` smoke run: its numbers mean nothing.", ""]
    if "clip" in variants and results.get("clip_weights") is None:
        lines += ["!!! warning \"The clip variant ran with RANDOM CLIP weights\"",
                  "    No `--clip-weights` were given, so its text encoder is an untrained ViT-B-32 transformer.", ""]
    header = ["variant"] + [METRIC_LABELS[m] + " %" for m in metrics]
    rows = [[v] + [_pm(summary[v]["metrics"][m], True) for m in metrics] for v in variants]
    real = results.get("real", {}).get("summary", {})
    if real:
        rows.append(["*real images*"] + [_pm(real[m], True) if m in real else "n/a" for m in metrics])
    lines += _table(header, rows) + [""]
    lines.append("Mean ± sample sd over seeds. *Real images*: the judge on the held-out test images themselves "
                 "(its own accuracy at this resolution) and their R-precision with each seed's encoders.")
    lines += [""]
    cost_rows = [[v] + [_pm(summary[v]["cost"][c], False) for c in COST_FIELDS] for v in variants]
    lines += _table(["variant"] + list(COST_FIELDS.values()), cost_rows) + [""]
    lines += ["Differences from the full FF-GAN larger than the seed spread (|Δmean| > sd + sd_ffgan):", ""]
    lines += _findings_text([Finding(**f) for f in results["findings"]], summary, reference, len(seeds))
    lines += [""]
    grids = [(v, grid_link(v)) for v in [*variants, "real"]]
    if any(link for _, link in grids):
        lines += [f"Sample grids (seed {seeds[0]}; the same captions and noise for every variant; *real*: the "
                  "test images the captions describe):", ""]
        for variant, link in grids:
            if link:
                lines += [f"**{variant}**", "", f"![{variant} samples]({link})", ""]
    return "\n".join(lines).rstrip() + "\n"


def replace_marked_section(path: Path, body: str) -> None:
    """Replace what lies between :data:`RESULTS_START` and :data:`RESULTS_END` in ``path`` with ``body``.

    Raises:
        ValueError: ``path`` lacks the two markers (named in the message).
    """
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(RESULTS_START) + r".*?" + re.escape(RESULTS_END), re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"--docs: {path} has no {RESULTS_START} ... {RESULTS_END} section to replace")
    new = pattern.sub(lambda _m: f"{RESULTS_START}\n\n{body.strip()}\n\n{RESULTS_END}", text, count=1)
    path.write_text(new, encoding="utf-8")
