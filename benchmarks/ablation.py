"""A miniature ablation of FF-GAN's fusion on CaptionedShapes scenes with relations (docs/ablation.md).

    python benchmarks/ablation.py --quick                 # smoke test, about a minute; numbers mean nothing
    python benchmarks/ablation.py                         # the documented experiment (hours on one core)
    python benchmarks/ablation.py --report-only           # re-render docs/ablation.md's results from the JSON

Per seed: pre-train DAMSM text and image encoders once (shared by the DAMSM variants, and the judge-encoders of
every variant's R-precision); then train every variant for the same budget of process CPU seconds and score it on
held-out captions (attribute judge from the pixels, DAMSM R-precision). Writes OUT/results.json (every per-seed
number, the command, seeds, budget, versions) and OUT/results.md; finished pieces in OUT are reused.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, NoReturn, Sequence

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.ablation_report import (  # noqa: E402
    aggregate,
    render_markdown,
    replace_marked_section,
    spread_findings,
    stats_of,
)
from benchmarks.ablation_settings import FULL, QUICK, AblationSettings, AblationUsageError  # noqa: E402
from benchmarks.ablation_variants import (  # noqa: E402
    BASE_OVERRIDES,
    REFERENCE_VARIANT,
    VARIANT_NAMES,
    VARIANTS,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DOCS = REPO_ROOT / "docs" / "ablation.md"
RESULTS_FORMAT = "fusionblocks-ablation/1"
CLIP_WARNING = (
    "WARNING: the clip variant uses RANDOM frozen CLIP weights (no --clip-weights given; nothing is downloaded). "
    "Its numbers measure an untrained ViT-B-32 transformer, not CLIP's pre-trained text features."
)


class _Parser(argparse.ArgumentParser):
    """Bad flags become one-line :class:`AblationUsageError` s (exit 2 in :func:`main`)."""

    def error(self, message: str) -> NoReturn:
        raise AblationUsageError(message)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    p = _Parser(prog="python benchmarks/ablation.py", description=__doc__,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny budgets, one seed, small evaluation (smoke test)")
    p.add_argument("--seeds", default=None, help="comma-separated training seeds (default 0,1,2; --quick: 0)")
    p.add_argument("--cpu-seconds", default=None,
                   help=f"charged CPU seconds per run (default {FULL.cpu_seconds:g}; --quick {QUICK.cpu_seconds:g})")
    p.add_argument("--variants", default=",".join(VARIANT_NAMES),
                   help=f"comma-separated subset of {','.join(VARIANT_NAMES)} (default all)")
    p.add_argument("--out", default="runs/ablation", help="output folder (default runs/ablation)")
    p.add_argument("--threads", default="1", help="torch intra-op threads (default 1)")
    p.add_argument("--clip-weights", default=None, metavar="PATH",
                   help="local open_clip ViT-B-32 weights for the clip variant (default: random weights)")
    p.add_argument("--charge-text-encoder", action="store_true",
                   help="count the frozen text encoder's forward passes in the CPU budget (default: not counted)")
    p.add_argument("--relation-encoders", action="store_true",
                   help="pre-train relation-aware DAMSM encoders (flattened image code, mirrored-caption negatives; "
                        "not in the documented table)")
    p.add_argument("--report-only", action="store_true",
                   help="only re-render OUT/results.md and the results section of --docs from OUT/results.json")
    p.add_argument("--docs", default=str(DEFAULT_DOCS), help="page whose results section --report-only rewrites")
    return p.parse_args(argv)


def _int_list(text: str, flag: str) -> list[int]:
    parts = [t.strip() for t in text.split(",")]
    if not parts or not all(t.isdigit() for t in parts):
        raise AblationUsageError(f"{flag}: expected comma-separated non-negative integers, got {text!r}")
    values = [int(t) for t in parts]
    if len(set(values)) != len(values):
        raise AblationUsageError(f"{flag}: expected distinct values, got {text!r}")
    return values


def _variant_list(text: str) -> list[str]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [n for n in names if n not in VARIANT_NAMES]
    if not names or unknown:
        raise AblationUsageError(
            f"--variants: unknown variant(s) {unknown or [text]}; choose from {','.join(VARIANT_NAMES)}"
        )
    if len(set(names)) != len(names):
        raise AblationUsageError(f"--variants: expected distinct names, got {text!r}")
    return [n for n in VARIANT_NAMES if n in names]  # table order


def _positive(text: str, flag: str, kind: Callable[[str], Any]) -> Any:
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not value > 0 or value != value or value == float("inf"):
        raise AblationUsageError(f"{flag}: expected a positive {kind.__name__}, got {text!r}")
    return value


def settings_from_args(args: argparse.Namespace) -> AblationSettings:
    """The settings of this invocation (``--quick`` sizes or the full ones, with the flags applied)."""
    settings = QUICK if args.quick else FULL
    if args.cpu_seconds is not None:
        settings = settings.replace(cpu_seconds=_positive(args.cpu_seconds, "--cpu-seconds", float))
    if args.charge_text_encoder:
        settings = settings.replace(charge_text=True)
    if args.relation_encoders:
        settings = settings.replace(damsm_relations=True)
    return settings


def _clip_weights(args: argparse.Namespace) -> str | None:
    if args.clip_weights is None:
        return None
    path = Path(args.clip_weights)
    if not path.is_file():
        raise AblationUsageError(f"--clip-weights: no such file {str(path)!r}")
    return str(path.resolve())


def _versions(threads: int) -> dict[str, Any]:
    import torch

    import fusionblocks

    try:
        commit = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = "unknown commit"
    return {
        "fusionblocks": fusionblocks.__version__, "git_commit": commit, "torch": torch.__version__,
        "python": platform.python_version(), "platform": platform.platform(), "cpu_count": os.cpu_count(),
        "torch_threads": threads,
    }


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _real_summary(real_judge: dict[str, float], real_rprec: list[float]) -> dict[str, Any]:
    summary = {name: stats_of([value]) for name, value in real_judge.items()}
    summary["rprec"] = stats_of(real_rprec)
    return summary


def _run_seeds(args: argparse.Namespace, settings: AblationSettings, out: Path, log: Callable[[str], None]
               ) -> dict[str, Any]:
    from benchmarks.ablation_damsm import build_evaluator, damsm_weights, pretrained_damsm
    from benchmarks.ablation_eval import build_judge, damsm_rprecision, held_out_set, judge_metrics, write_grid
    from benchmarks.ablation_run import SeedContext, run_variant

    seeds = _int_list(args.seeds, "--seeds") if args.seeds else ([0] if args.quick else [0, 1, 2])
    names = _variant_list(args.variants)
    clip_weights = _clip_weights(args)
    if "clip" in names and clip_weights is None:
        log(CLIP_WARNING)
    judge = build_judge(settings)
    held_out = held_out_set(settings, BASE_OVERRIDES["model.image_size"], BASE_OVERRIDES["model.z_dim"])
    real_judge, real_stated = judge_metrics(judge, held_out.real_images, held_out)
    write_grid(held_out.real_images[: settings.grid_captions], held_out.grid_captions[:: settings.grid_noises],
               out / "real_grid.png", columns=4 * settings.grid_noises)
    log(f"[ablation] judge on the {len(held_out.captions)} real held-out images at "
        f"{BASE_OVERRIDES['model.image_size']} px: all-correct {real_judge['all_correct']:.0%}")
    runs, real_rprec, damsm = [], [], []
    for seed in seeds:
        folder = out / f"seed_{seed}"
        damsm.append(pretrained_damsm(folder / "damsm", settings, seed, log))
        evaluator = build_evaluator(folder / "damsm", settings, seed)
        ctx = SeedContext(seed, folder, damsm_weights(folder / "damsm"), evaluator)
        real_rprec.append(damsm_rprecision(held_out.real_images, held_out, *ctx.evaluator, settings))
        for variant in (v for v in VARIANTS if v.name in names):
            runs.append(run_variant(variant, ctx, settings, held_out, judge, clip_weights, log))
    return {"seeds": seeds, "variants": names, "clip_weights": clip_weights, "runs": runs, "damsm": damsm,
            "real": {"judge": real_judge, "stated": real_stated, "rprec": real_rprec,
                     "summary": _real_summary(real_judge, real_rprec), "grid": "real_grid.png"},
            "judge": judge.judge_info}


def _assemble(args: argparse.Namespace, argv: Sequence[str], settings: AblationSettings, found: dict[str, Any],
              threads: int, started: str) -> dict[str, Any]:
    from benchmarks.ablation_eval import METRICS

    summary = aggregate(found["runs"], METRICS, found["variants"])
    findings = spread_findings(summary, REFERENCE_VARIANT, METRICS) if REFERENCE_VARIANT in summary else []
    return {
        "format": RESULTS_FORMAT,
        "command": shlex.join(["python", "benchmarks/ablation.py", *argv]),
        "quick": bool(args.quick), "settings": settings.to_dict(), "metrics": list(METRICS),
        "reference": REFERENCE_VARIANT, "versions": _versions(threads), "started": started, "finished": _now(),
        **found, "summary": summary, "findings": [f.to_dict() for f in findings],
        "variant_table": {v.name: {"what": v.what, "overrides": {k: repr(x) for k, x in v.overrides.items()}}
                          for v in VARIANTS if v.name in found["variants"]},
    }


def _write_outputs(out: Path, results: dict[str, Any]) -> str:
    from fusionblocks.metrics.report import json_safe

    (out / "results.json").write_text(json.dumps(json_safe(results), indent=2, allow_nan=False) + "\n")
    first = results["seeds"][0]
    markdown = render_markdown(results, lambda v: "real_grid.png" if v == "real" else f"seed_{first}/{v}/grid.png")
    (out / "results.md").write_text(markdown)
    return markdown


def run(args: argparse.Namespace, argv: Sequence[str], log: Callable[[str], None] = print) -> int:
    """Run (or resume) the ablation and write its outputs; returns the exit status."""
    import torch

    settings = settings_from_args(args)
    threads = int(_positive(args.threads, "--threads", int))
    _variant_list(args.variants)  # check the flags before any work
    if args.seeds:
        _int_list(args.seeds, "--seeds")
    _clip_weights(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    started, t0 = _now(), time.perf_counter()
    try:
        found = _run_seeds(args, settings, out, log)
    finally:
        torch.set_num_threads(previous)
    results = _assemble(args, argv, settings, found, threads, started)
    markdown = _write_outputs(out, results)
    log(markdown)
    if "clip" in found["variants"] and found["clip_weights"] is None:
        log(CLIP_WARNING)
    log(f"[ablation] done in {(time.perf_counter() - t0) / 60:.1f} min: {out / 'results.json'}, {out / 'results.md'}")
    return 0


def report_only(out: Path, docs: Path, log: Callable[[str], None] = print) -> int:
    """Re-render ``OUT/results.md`` and the marked results section of ``docs`` from ``OUT/results.json``; copy the
    sample grids of the first seed next to the page (``assets/ablation/``)."""
    source = out / "results.json"
    if not source.is_file():
        raise AblationUsageError(f"--out: no results.json in {out} (run the ablation first)")
    if not docs.is_file():
        raise AblationUsageError(f"--docs: no such file {str(docs)!r}")
    results = json.loads(source.read_text())
    if results.get("format") != RESULTS_FORMAT:
        raise AblationUsageError(f"--out: {source} is not an ablation result ({RESULTS_FORMAT})")
    assets = docs.parent / "assets" / "ablation"
    assets.mkdir(parents=True, exist_ok=True)
    first = results["seeds"][0]
    grids = {v: out / f"seed_{first}" / v / "grid.png" for v in results["variants"]}
    grids["real"] = out / "real_grid.png"
    links: dict[str, str] = {}
    for name, path in grids.items():
        if path.is_file():
            shutil.copyfile(path, assets / f"{name}.png")
            links[name] = f"assets/ablation/{name}.png"
    replace_marked_section(docs, render_markdown(results, links.get))
    _write_outputs(out, results)
    log(f"[ablation] wrote the results section of {docs} and {len(links)} grids in {assets}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; user errors become one line on stderr and exit status 2."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parse_args(argv)
        if args.report_only:
            return report_only(Path(args.out), Path(args.docs))
        return run(args, argv)
    except AblationUsageError as err:
        print(f"ablation: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
