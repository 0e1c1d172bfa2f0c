"""The main job (``make demo`` / ``python -m fusionblocks.demo``): train a tiny FF-GAN on CaptionedShapes on CPU.

1. Build the ``tiny64`` preset at 32² (two stages 16²→32², FF-Block + GSR refinement, small BiLSTM text encoder,
   small CNN image encoder), with short-run settings: EMA 0.99, single-object images.
2. Pre-train its DAMSM text and image encoders on one- and two-object CaptionedShapes scenes, with hard negative
   captions (``fusionblocks.train.damsm_pretrain``), and probe what their features carry.
3. Train the GAN with the FF-GAN recipe (per-scale BCE + DAMSM + KL) with
[`fusionblocks.train.Trainer`][fusionblocks.train.trainer.Trainer]:
   checkpoints, ``metrics.jsonl`` and sample grids with word-attention maps over training.
4. Sample held-out captions (the dataset's test split) and a final grid; judge colours with the CaptionedShapes
   attribute judge.

Everything lands in ``runs/demo/``. The run keeps to a wall-time budget (``--budget-minutes``, default 9.75 minutes
in all): training stops early, still writing all outputs, if the machine is slower than expected.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from .cli.sample import sample_to_folder
from .data import CaptionedShapes, collate_captions
from .ffgan import build_ffgan, parse_overrides
from .metrics.attribute_judge import AttributeJudge
from .metrics.attribute_report import attribute_table, format_attribute_table
from .metrics.report import json_safe
from .metrics.text_probe import probe_text_features
from .train import Trainer
from .train.damsm_pretrain import pretrain_damsm
from .train.grids import caption_grid
from .train.sampling import generate

__all__ = ["main", "DEMO_OVERRIDES", "FINAL_CAPTIONS"]

#: Overrides of the ``tiny64`` preset used by the demo (sized for two CPU cores and a few minutes).
DEMO_OVERRIDES: dict[str, Any] = {
    "model.image_size": 32,
    "model.ngf": 16,
    "model.ndf": 16,
    # the flattened code keeps where each feature is, so DAMSM can tell a scene from its mirror image (relations)
    "image.kwargs": {"image_size": 32, "region_size": 8, "channels": [16, 32, 64], "code_pooling": "flatten"},
    "train.ema_decay": 0.99,
    "train.batch_size": 16,
    "train.lr_g": 4e-4,
    "train.lr_d": 4e-4,
    "train.damsm_lambda": 2.0,
    "train.precision": "bf16",
    # CaptionedShapes classes are (shape, colour) only: masking same-class pairs in the DAMSM losses would hide
    # the pairs that differ in size and position. Hard negatives (one attribute changed) make the discriminator
    # and the DAMSM losses check every attribute, not just the colour that random mismatches differ in.
    "train.damsm_mask_same_class": False,
    "train.hard_negatives": True,
    "data.kwargs": {"size": 4096, "max_objects": 1, "hard_negatives": 2},
}

#: One caption per colour (and every shape), shown in the final grid.
FINAL_CAPTIONS: list[str] = [
    "a large red circle",
    "a large green square",
    "a large blue triangle",
    "a large yellow circle",
    "a large magenta square",
    "a large cyan triangle",
    "a small red square",
    "a small blue circle",
]


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m fusionblocks.demo", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="runs/demo", help="output folder (default runs/demo)")
    p.add_argument("--steps", type=int, default=4500, help="GAN training steps (default 4500)")
    p.add_argument("--damsm-steps", type=int, default=1500, help="DAMSM pre-training steps (default 1500)")
    p.add_argument("--damsm-batch-size", type=int, default=32)
    p.add_argument("--damsm-negatives", type=int, default=4,
                   help="hard-negative captions per image in DAMSM pre-training (one attribute changed; 0 = off)")
    p.add_argument("--damsm-max-objects", type=int, default=2, choices=(1, 2),
                   help="objects per DAMSM pre-training scene (default 2: one- and two-object scenes, so that the "
                        "encoders learn relations; the GAN trains on one-object scenes either way)")
    p.add_argument("--budget-minutes", type=float, default=9.75, help="wall-time budget for everything")
    p.add_argument("--sample-every", type=int, default=500)
    p.add_argument("--heldout", type=int, default=120, help="held-out test captions to sample and judge")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="extra tiny64 config overrides")
    p.add_argument("--threads", default="1",
                   help="torch intra-op threads (default 1: the run, and so every printed figure, is then the same "
                        "on every machine; the tiny model fits the budget on one core). A number, or auto (all "
                        "cores, but 1 when the machine is already busy)")
    p.add_argument("--no-judge", action="store_true", help="skip the attribute judge")
    p.add_argument("--no-probe", action="store_true", help="skip the text-feature probe after DAMSM pre-training")
    p.add_argument("--no-progress", action="store_true")
    return p.parse_args(argv)


def damsm_dataset(train_set: CaptionedShapes, args: argparse.Namespace) -> CaptionedShapes:
    """The demo's DAMSM pre-training data: as many training-split scenes as the GAN's, of one and two objects
    (``--damsm-max-objects``), each caption with ``--damsm-negatives`` hard negatives, the mirrored caption first
    when it states a relation. Images are rendered once and kept (``cache``)."""
    return CaptionedShapes(resolution=train_set.resolution, split="train", seed=train_set.seed,
                           max_objects=args.damsm_max_objects, captions_per_image=train_set.captions_per_image,
                           size=len(train_set), hard_negatives=args.damsm_negatives,
                           mirror_negatives=args.damsm_negatives > 0 and args.damsm_max_objects == 2,
                           cache=True)


def _pretrain_damsm(gan: Any, train_set: Any, args: argparse.Namespace, out: Path) -> dict[str, float]:
    """DAMSM pre-training of the demo's encoders on training-split scenes of one and two objects, with hard
    negatives (the mirrored caption first, for relations) and without same-class masking (CaptionedShapes classes
    are shape and colour only: masking them would remove the negatives that teach size and position)."""
    text, image = gan.text_encoder, gan.image_encoder
    for module in (text, image):  # the builder froze them; unfreeze() keeps frozen backbones frozen
        module.unfreeze() if hasattr(module, "unfreeze") else module.requires_grad_(True)
    dataset = damsm_dataset(train_set, args)
    loader = DataLoader(dataset, batch_size=args.damsm_batch_size, shuffle=True, drop_last=True,
                        collate_fn=collate_captions, generator=torch.Generator().manual_seed(args.seed))
    bar = None
    if not args.no_progress:
        bar = tqdm(total=args.damsm_steps, desc="damsm", unit="step", dynamic_ncols=True)

    def callback(step: int, record: dict[str, float]) -> None:
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{record['loss']:.3g}", refresh=False)

    try:
        history = pretrain_damsm(text, image, loader, steps=args.damsm_steps, lr=2e-3, out_dir=out / "damsm",
                                 callback=callback, log_every=0, mask_same_class=False)
    finally:
        if bar is not None:
            bar.close()
    for module in (text, image):
        module.freeze() if hasattr(module, "freeze") else module.requires_grad_(False).eval()
    losses = history.loss
    return {"first_loss": float(losses[0]), "last_loss": float(sum(losses[-10:]) / len(losses[-10:]))}


_DEMO_OUTPUTS = ("checkpoints", "samples", "heldout", "damsm", "tensorboard", "metrics.jsonl", "final_grid.png",
                 "summary.json")


def _clear_previous_demo(out: Path) -> None:
    """Remove the outputs of an earlier demo run in ``out`` (only the files the demo itself writes)."""
    found = [out / name for name in _DEMO_OUTPUTS if (out / name).exists()]
    if found:
        print(f"[demo] replacing the previous demo run in {out}", flush=True)
    for path in found:
        shutil.rmtree(path) if path.is_dir() else path.unlink()


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def _choose_threads(spec: str) -> int:
    cores = os.cpu_count() or 1
    if spec != "auto":
        if not spec.isdigit() or int(spec) < 1:
            raise ValueError(f"--threads: expected a positive integer or 'auto', got {spec!r}")
        return int(spec)
    try:
        busy = os.getloadavg()[0]
    except OSError:  # pragma: no cover - platforms without load averages
        busy = 0.0
    return 1 if busy >= cores - 0.5 else max(1, min(cores, torch.get_num_threads()))


def main(argv: list[str] | None = None) -> int:
    """Run the demo; returns the exit status."""
    args = _parse(argv)
    t0 = time.perf_counter()
    budget = args.budget_minutes * 60.0

    threads = _choose_threads(args.threads)
    torch.set_num_threads(threads)

    out = Path(args.out)
    _clear_previous_demo(out)
    out.mkdir(parents=True, exist_ok=True)
    overrides = {**DEMO_OVERRIDES, **parse_overrides(args.overrides), "train.seed": args.seed}
    torch.manual_seed(args.seed)
    gan = build_ffgan("tiny64", **overrides)
    cfg = gan.config
    size = cfg.model.image_size
    train_set = CaptionedShapes(resolution=size, split="train", seed=args.seed,
                                captions_per_image=cfg.data.captions_per_image, **{"cache": True, **cfg.data.kwargs})
    print(f"[demo] tiny64 FF-GAN at {cfg.model.image_sizes} px, G {gan.num_parameters()['generator']:,} parameters, "
          f"CaptionedShapes ({len(train_set)} single-object images), {threads} CPU thread(s); output: {out}",
          flush=True)

    # 1. DAMSM pre-training of the small encoders
    t = time.perf_counter()
    damsm = _pretrain_damsm(gan, train_set, args, out)
    print(f"[demo] DAMSM pre-training: {args.damsm_steps} steps, loss {damsm['first_loss']:.2f} -> "
          f"{damsm['last_loss']:.2f} ({time.perf_counter() - t:.0f} s)", flush=True)
    probe = None
    if not args.no_probe:
        t = time.perf_counter()
        probe = probe_text_features(gan.text_encoder, gan.image_encoder, resolution=size, relation_scenes=100,
                                    seed=args.seed)
        print(f"[demo] text features on held-out captions ({time.perf_counter() - t:.0f} s; see docs/text-features.md)"
              f"\n{_indent(probe.format())}", flush=True)

    # 2. GAN training
    test_set = CaptionedShapes(resolution=size, split="test", seed=args.seed, size=max(args.heldout, 8),
                               captions_per_image=1, max_objects=1)
    reserve = 30.0  # seconds kept for held-out sampling, grids and the judge (about 10 s on two cores)
    # batch size, seed and precision come from gan.config (DEMO_OVERRIDES); the rest are explicit overrides
    trainer = Trainer(
        gan, train_set, out, sample_captions=FINAL_CAPTIONS,
        steps=args.steps, device="cpu", log_every=10, sample_every=args.sample_every, checkpoint_every=500,
        keep_checkpoints=1, progress=not args.no_progress,
        max_seconds=max(10.0, budget - (time.perf_counter() - t0) - reserve),
    )
    t = time.perf_counter()
    result = trainer.fit()
    note = " (stopped early: time budget)" if trainer.stopped_early else ""
    print(f"[demo] GAN training: {result.step} steps in {time.perf_counter() - t:.0f} s, "
          f"{result.images_per_second:.1f} images/s{note}", flush=True)

    # 3. held-out captions and the final grid, with the EMA generator
    generator = trainer.sampling_generator
    heldout = [test_set[i]["caption"] for i in range(args.heldout)]
    gan.generator = generator
    heldout_dir = out / "heldout"
    sample_to_folder(gan, heldout, heldout_dir, num=1, seed=args.seed + 1)
    final = generate(generator, gan.text_encoder, [c for c in FINAL_CAPTIONS for _ in range(4)], seed=args.seed + 2,
                     return_attention=False)
    caption_grid(final.images[-1], [c for c in FINAL_CAPTIONS for _ in range(4)], columns=8,
                 path=out / "final_grid.png")

    # 4. does each image show what its held-out caption asks for? (the attribute judge, at the demo's resolution)
    summary: dict[str, Any] = {"steps": result.step, "damsm": damsm, "stopped_early": trainer.stopped_early,
                               "resolution": size}
    if probe is not None:
        summary["text_probe"] = probe.to_dict()
    if not args.no_judge:
        judge = AttributeJudge.build(out / "shape_classifier.safetensors", self_check_images=0, seed=args.seed)
        images = generate(generator, gan.text_encoder, heldout, seed=args.seed + 1, return_attention=False).images[-1]
        verdict = judge(images, heldout)
        real = judge.check_on_real(len(heldout), resolution=size, max_objects=1, seed=args.seed)
        table = attribute_table(verdict, real)
        summary["attributes"] = {"heldout_captions": len(heldout), "table": table, "generated": verdict.to_dict(),
                                 "judge_on_real": real.to_dict(), "judge": judge.judge_info}
        print(f"[demo] attribute judge on {len(heldout)} held-out captions at {size}x{size} (correct / stating; "
              f"judge on real: on real {size}x{size} images)\n{_indent(format_attribute_table(table))}", flush=True)
    wall = time.perf_counter() - t0
    summary["wall_seconds"] = wall
    (out / "summary.json").write_text(json.dumps(json_safe(summary), indent=2, default=str, allow_nan=False) + "\n")
    grids = sorted((out / "samples").glob("step_*.png"))
    print(f"[demo] done in {wall / 60:.1f} min. Files in {out}/:")
    print(f"  checkpoint      {result.checkpoint}")
    print(f"  metrics         {result.metrics}")
    print(f"  grids           {out / 'samples'}/ ({len(grids)} PNGs over training, with word-attention maps)")
    print(f"  held-out        {heldout_dir}/ ({len(heldout)} PNGs + grid.png + attention.png)")
    print(f"  final grid      {out / 'final_grid.png'}")
    print(f"  DAMSM encoders  {out / 'damsm'}/")
    print(f"  summary         {out / 'summary.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
