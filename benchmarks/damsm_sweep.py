"""Why does DAMSM pre-training on CaptionedShapes lose shape, position and relations? A sweep of pre-training
settings, each scored by the text-feature probe (``fusionblocks.metrics.text_probe``) on held-out captions.

Every setting pre-trains the demo's small DAMSM encoders (BiLSTM text encoder, small CNN image encoder, 32 px,
CaptionedShapes) from the same initialisation per seed, then probes them: a linear probe of the
sentence vectors per attribute, and the DAMSM R-precision of the true caption against every caption that
changes one attribute. The settings vary one cause at a time: training steps, same-class masking, hard
negatives, batch size, region-grid size, two-object scenes, the image code's pooling and mirrored-relation
negatives.

Usage::

    python benchmarks/damsm_sweep.py                      # every setting, seeds 0 and 1 (about an hour, 1 thread)
    python benchmarks/damsm_sweep.py --quick              # a smoke run (seconds), what the tests run
    python benchmarks/damsm_sweep.py --settings old,new --seeds 0,1,2

Writes ``--out`` (default ``runs/damsm_sweep``): ``results.json`` (every number, the command, the settings) and
``results.md`` (mean ± sd over seeds per setting), and one ``runs/<setting>_seed<seed>.json`` per finished run,
which a later invocation with the same ``--out`` reuses (an interrupted sweep resumes where it stopped).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.recorded_settings import with_field_defaults  # noqa: E402


#: What each setting changes relative to ``new`` (1500 steps, batch 32, 4 hard negatives, no masking, one-object
#: scenes, average-pooled image code).
@dataclass(frozen=True)
class Setting:
    """One pre-training configuration of the sweep."""

    description: str
    steps: int = 1500
    mask_same_class: bool = False
    hard_negatives: int = 4
    batch_size: int = 32
    region_size: int = 8
    max_objects: int = 1
    code_pooling: str = "mean"
    mirror_negatives: bool = False
    overrides: dict[str, Any] = field(default_factory=dict)


SETTINGS: dict[str, Setting] = {
    "old": Setting("the previous demo: 300 steps, same-class masking, no hard negatives", steps=300,
                   mask_same_class=True, hard_negatives=0),
    "old_long": Setting("as old, 1500 steps", mask_same_class=True, hard_negatives=0),
    "unmasked": Setting("300 steps, no same-class masking, no hard negatives", steps=300, hard_negatives=0),
    "unmasked_long": Setting("1500 steps, no same-class masking, no hard negatives", hard_negatives=0),
    "hard": Setting("300 steps, no masking, 4 hard negatives", steps=300),
    "new": Setting("1500 steps, no masking, 4 hard negatives (one-object scenes)"),
    "new_masked": Setting("as new, with same-class masking", mask_same_class=True),
    "new_batch64": Setting("as new, batch 64", batch_size=64),
    "new_region4": Setting("as new, a 4x4 region grid (8x8 px regions)", region_size=4),
    "new_two": Setting("as new, on one- and two-object scenes (relations too)", max_objects=2),
    "new_two_long": Setting("as new_two, 3000 steps", max_objects=2, steps=3000),
    "two_flat": Setting("as new_two, image code from the flattened last stage", max_objects=2,
                        code_pooling="flatten"),
    "two_mirror": Setting("as new_two, the mirrored caption as first hard negative", max_objects=2,
                          mirror_negatives=True),
    "rel": Setting("the demo now: as new_two, flattened image code and mirrored-caption negatives", max_objects=2,
                   code_pooling="flatten", mirror_negatives=True),
    "rel_long": Setting("as rel, 3000 steps", steps=3000, max_objects=2, code_pooling="flatten",
                        mirror_negatives=True),
}

ATTRIBUTES = ("color", "size", "shape", "position", "relation")


def _same_setting(stored: Any, setting: Setting) -> bool:
    """Whether a finished piece was made with ``setting`` (its description aside); fields added to ``Setting`` after
    the piece was written count at their defaults (which is what the piece ran with)."""
    if not isinstance(stored, dict):
        return False
    wanted = {k: v for k, v in setting.__dict__.items() if k != "description"}
    return {k: v for k, v in with_field_defaults(stored, Setting).items() if k != "description"} == wanted


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--settings", default=",".join(SETTINGS), help=f"comma-separated, from {', '.join(SETTINGS)}")
    p.add_argument("--seeds", default="0,1", help="comma-separated seeds (default 0,1)")
    p.add_argument("--out", default="runs/damsm_sweep")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--quick", action="store_true", help="a few steps per setting: checks the script end to end")
    args = p.parse_args(argv)
    names = [n for n in args.settings.split(",") if n]
    unknown = [n for n in names if n not in SETTINGS]
    if unknown or not names:
        p.error(f"--settings: unknown {unknown}; expected names from {list(SETTINGS)}")
    try:
        args.seed_list = [int(s) for s in args.seeds.split(",") if s != ""]
    except ValueError:
        p.error(f"--seeds: expected comma-separated integers, got {args.seeds!r}")
    if not args.seed_list or min(args.seed_list) < 0:
        p.error("--seeds: expected at least one non-negative integer")
    if args.threads < 1:
        p.error("--threads: expected >= 1")
    args.setting_names = names
    return args


def run_setting(setting: Setting, seed: int, quick: bool) -> dict[str, Any]:
    """Pre-train one setting's encoders for one seed and probe them; returns the numbers."""
    import torch
    from torch.utils.data import DataLoader

    from fusionblocks import seed_everything
    from fusionblocks.data import CaptionedShapes, collate_captions
    from fusionblocks.demo import DEMO_OVERRIDES
    from fusionblocks.ffgan import build_ffgan
    from fusionblocks.metrics.text_probe import probe_text_features
    from fusionblocks.train.damsm_pretrain import pretrain_damsm

    steps = 3 if quick else setting.steps
    batch_size = 8 if quick else setting.batch_size
    seed_everything(seed)
    image_kwargs = {**DEMO_OVERRIDES["image.kwargs"], "region_size": setting.region_size,
                    "code_pooling": setting.code_pooling}
    overrides = {**DEMO_OVERRIDES, "image.kwargs": image_kwargs, **setting.overrides}
    gan = build_ffgan("tiny64", **overrides)
    text, image = gan.text_encoder.unfreeze(), gan.image_encoder.unfreeze()
    size = gan.config.model.image_size
    data = CaptionedShapes(size=64 if quick else 4096, resolution=size, split="train", seed=seed,
                           max_objects=setting.max_objects,
                           captions_per_image=gan.config.data.captions_per_image,
                           hard_negatives=setting.hard_negatives,
                           mirror_negatives=setting.mirror_negatives and setting.hard_negatives > 0)
    loader = DataLoader(data, batch_size=batch_size, shuffle=True, drop_last=True, collate_fn=collate_captions,
                        generator=torch.Generator().manual_seed(seed))
    cpu, wall = time.process_time(), time.perf_counter()
    history = pretrain_damsm(text, image, loader, steps=steps, lr=2e-3, log_every=0,
                             mask_same_class=setting.mask_same_class)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    probe = probe_text_features(text, image, resolution=size, fit_scenes=20 if quick else 400,
                                eval_scenes=10 if quick else 200, relation_scenes=2 if quick else 20, seed=seed)
    return {"seed": seed, "steps": steps, "batch_size": batch_size, "cpu_seconds": cpu, "wall_seconds": wall,
            "final_loss": sum(history.loss[-10:]) / len(history.loss[-10:]), "probe": probe.to_dict()}


def _mean_sd(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else math.nan)


def summarise(results: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, tuple[float, float]]]:
    """Mean and sd over seeds of each setting's sentence probe and hard-negative R-precision per attribute."""
    table: dict[str, dict[str, tuple[float, float]]] = {}
    for name, runs in results.items():
        row: dict[str, tuple[float, float]] = {}
        for attr in ATTRIBUTES:
            row[f"probe_{attr}"] = _mean_sd([r["probe"]["sentence"][attr] for r in runs])
            row[f"centroid_{attr}"] = _mean_sd([r["probe"]["sentence_centroid"][attr] for r in runs])
            row[f"hardneg_{attr}"] = _mean_sd([r["probe"]["hard_negative"][attr] for r in runs])
        row["hardneg_all"] = _mean_sd([r["probe"]["hard_negative"]["all"] for r in runs])
        row["cpu_seconds"] = _mean_sd([r["cpu_seconds"] for r in runs])
        table[name] = row
    return table


def to_markdown(table: dict[str, dict[str, tuple[float, float]]], seeds: list[int]) -> str:
    """The summary as Markdown tables (percentages, mean ± sd over the seeds)."""

    def cell(v: tuple[float, float]) -> str:
        mean, sd = v
        return f"{100 * mean:.0f} ± {100 * sd:.0f}" if not math.isnan(sd) else f"{100 * mean:.0f}"

    head = "| setting | what changes | " + " | ".join(ATTRIBUTES) + " | CPU s |"
    rule = "| --- | --- | " + " | ".join("---:" for _ in ATTRIBUTES) + " | ---: |"
    lines = [f"Sentence linear probe on held-out captions, % (mean ± sd over seeds {seeds}):", "", head, rule]
    for name, row in table.items():
        cpu = row["cpu_seconds"][0]
        lines.append(f"| `{name}` | {SETTINGS[name].description} | "
                     + " | ".join(cell(row[f"probe_{a}"]) for a in ATTRIBUTES) + f" | {cpu:.0f} |")
    lines += ["", "Sentence nearest-centroid probe (stricter: the attribute must shape the cosine geometry), %:", "",
              "| setting | " + " | ".join(ATTRIBUTES) + " |",
              "| --- | " + " | ".join("---:" for _ in ATTRIBUTES) + " |"]
    for name, row in table.items():
        lines.append(f"| `{name}` | " + " | ".join(cell(row[f"centroid_{a}"]) for a in ATTRIBUTES) + " |")
    lines += ["", "Hard-negative DAMSM R-precision (true caption above every one-attribute change), %:", "",
              "| setting | " + " | ".join(ATTRIBUTES) + " | all |",
              "| --- | " + " | ".join("---:" for _ in range(len(ATTRIBUTES) + 1)) + " |"]
    for name, row in table.items():
        lines.append(f"| `{name}` | " + " | ".join(cell(row[f"hardneg_{a}"]) for a in (*ATTRIBUTES, "all")) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    import torch

    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, list[dict[str, Any]]] = {}
    for name in args.setting_names:
        for seed in args.seed_list:
            piece = out / "runs" / f"{name}_seed{seed}.json"
            if piece.is_file():  # finished by an earlier (interrupted) invocation with the same settings
                run = json.loads(piece.read_text())
                if not _same_setting(run.get("setting"), SETTINGS[name]) or run.get("quick") != args.quick:
                    raise SystemExit(f"--out: {piece} was made with other settings; use another --out")
            else:
                run = run_setting(SETTINGS[name], seed, args.quick)
                run.update(setting=SETTINGS[name].__dict__, quick=args.quick)
                piece.parent.mkdir(parents=True, exist_ok=True)
                tmp = piece.with_suffix(".tmp")
                tmp.write_text(json.dumps(run, indent=2, default=str, allow_nan=True) + "\n")
                tmp.replace(piece)
            results.setdefault(name, []).append(run)
            probe = run["probe"]["sentence"]
            print(f"[sweep] {name} seed {seed}: " + ", ".join(f"{a} {probe[a]:.0%}" for a in ATTRIBUTES)
                  + f" ({run['cpu_seconds']:.0f} CPU s)", flush=True)
    table = summarise(results)
    record = {"command": " ".join(sys.argv), "quick": args.quick, "seeds": args.seed_list, "threads": args.threads,
              "settings": {n: SETTINGS[n].__dict__ for n in args.setting_names}, "results": results,
              "summary": {n: {k: list(v) for k, v in row.items()} for n, row in table.items()},
              "python": platform.python_version(), "torch": torch.__version__}
    (out / "results.json").write_text(json.dumps(record, indent=2, default=str, allow_nan=True) + "\n")
    (out / "results.md").write_text(to_markdown(table, args.seed_list))
    print(to_markdown(table, args.seed_list))
    return 0


if __name__ == "__main__":
    sys.exit(main())
