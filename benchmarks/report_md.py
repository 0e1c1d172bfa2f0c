"""Render a ``benchmarks/run.py`` JSON file as Markdown tables (for ``docs/performance.md``).

    python benchmarks/report_md.py benchmarks/results.json > tables.md
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def render(report: dict[str, Any]) -> str:
    m = report["machine"]
    mm = report["matmul_flops_per_s"]
    lines = [
        f"Measured {m['utc']} on {m['device']} ({m['cpu_count']} CPUs, {m['torch_threads']} torch threads, "
        f"torch {m['torch']}, load average at start {tuple(round(x, 1) for x in m['load_avg'] or ())}); "
        f"measured matmul rate fp32 {mm['fp32'] / 1e9:.0f} GFLOP/s, bf16 {mm['bf16'] / 1e9:.0f} GFLOP/s"
        f"{' (--quick)' if report.get('quick') else ''}.",
        "",
    ]
    for case in report["cases"]:
        ref = case["reference"]
        lines += [
            f"**{case['name']}**: {case['description']}",
            "",
            "| variant | best s | median s | ratio (best) | speed-up | ratio (medians) | peak RSS above start (MB) | GFLOP | % of fp32 matmul rate (best) |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        ref_median = case["variants"][ref]["median_s"]
        ref_min = case["variants"][ref]["min_s"]
        for name, v in case["variants"].items():
            ratio = v["min_s"] / ref_min
            ratio_med = v["median_s"] / ref_median
            flops = f"{v['flops'] / 1e9:.1f}" if v.get("flops") else "–"
            frac = f"{100 * v['flops'] / v['min_s'] / mm['fp32']:.0f}%" if v.get("flops") else "–"
            lines.append(
                f"| {name} | {v['min_s']:.3f} | {v['median_s']:.3f} | {ratio:.3f} | {1 / ratio:.2f}× | "
                f"{ratio_med:.3f} | {v['peak_rss_delta_mb']:.0f} | {flops} | {frac} |"
            )
        for note in case.get("notes", []):
            lines.append(f"\n_Note: {note}_")
        lines.append("")
    if report.get("targets"):
        lines += ["| target (issue 8) | ratio | limit | met |", "| --- | ---: | ---: | --- |"]
        for t in report["targets"]:
            lines.append(f"| {t['case']} {t['variant']} | {t['ratio']:.3f} | ≤ {t['target']} | {'yes' if t['ok'] else 'no'} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    path = Path(argv[1] if len(argv) > 1 else "benchmarks/results.json")
    sys.stdout.write(render(json.loads(path.read_text())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
