"""Shared driver of the official-recipe examples (``train_ffgan_cub.py``, ``train_ffgan_coco.py``).

Both run one preset's official recipe through ``fusionblocks.train.Trainer``; they differ only in the
preset and in the defaults of a few flags, which each script passes here.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def parse_args(argv, *, description: str, dataset: str, out: str, epochs: int, epochs_help: str, batch_size: int):
    """The command-line flags of an official-recipe example, with that dataset's defaults."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help=f"AttnGAN-format {dataset} folder")
    p.add_argument("--text-encoder", help="pre-trained DAMSM text encoder (official .pth or ours)")
    p.add_argument("--image-encoder", help="pre-trained DAMSM image encoder (official .pth or ours)")
    p.add_argument("--backbone-weights", help="ImageNet Inception-v3 weights (when --image-encoder is ours)")
    p.add_argument("--out", default=out, help="run folder (checkpoints, metrics.jsonl, samples/)")
    p.add_argument("--epochs", type=int, default=epochs, help=epochs_help)
    p.add_argument("--steps", type=int, help="stop after this many steps instead of --epochs")
    p.add_argument("--batch-size", type=int, default=batch_size, help=f"per process (official: {batch_size})")
    p.add_argument("--workers", type=int, default=4, help="DataLoader workers")
    p.add_argument("--device", default="auto")
    p.add_argument("--precision", default="bf16", choices=["bf16", "fp32"], help="autocast (bf16 on GPU)")
    p.add_argument("--compile", action="store_true", help="torch.compile G and the Ds")
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--sample-every", type=int, default=2000)
    p.add_argument("--checkpoint-every", type=int, default=5000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --out")
    p.add_argument("--smoke", action="store_true", help="a few CPU steps on CaptionedShapes with a tiny model")
    return p.parse_args(argv)


def run(preset: str, args: argparse.Namespace) -> None:
    """Train ``preset`` with the flags in ``args`` (see ``parse_args``)."""
    from fusionblocks.ffgan import build_ffgan, preset_config, resolve_config
    from fusionblocks.train import Trainer, build_dataset, smoke_overrides

    overrides: dict = {"train.seed": args.seed, "train.batch_size": args.batch_size, "data.num_workers": args.workers}
    if args.smoke:
        overrides = smoke_overrides(preset_config(preset))
        args.device, args.precision, args.steps, args.workers = "cpu", "fp32", args.steps or 3, 0
    else:
        if not args.data:
            raise SystemExit("--data is required (or use --smoke)")
        overrides.update({"data.root": args.data, "text.vocabulary": str(Path(args.data) / "captions.pickle")})
        if args.text_encoder:
            overrides["text.weights"] = args.text_encoder
        if args.image_encoder:
            overrides["image.weights"] = args.image_encoder
        if args.backbone_weights:
            overrides["image.backbone_weights"] = args.backbone_weights
        overrides["train.epochs"] = args.epochs
    config = resolve_config(preset, overrides)
    gan = build_ffgan(config)
    dataset = build_dataset(config, seed=config.train.seed)
    # epochs, batch size and seed come from the config (the trainer turns epochs into steps per process);
    # the flags below only concern this run's process
    trainer = Trainer(
        gan,
        dataset,
        args.out,
        steps=args.steps,
        device=args.device,
        precision=args.precision,
        compile=args.compile,
        channels_last=args.channels_last,
        sample_every=0 if args.smoke else args.sample_every,
        checkpoint_every=0 if args.smoke else args.checkpoint_every,
        log_every=1 if args.smoke else 50,
        progress=not args.smoke,
    )
    result = trainer.fit(resume=args.resume)
    if trainer.dist.is_main:
        print(f"step {result.step}: checkpoint {result.checkpoint}, metrics {result.metrics}")
