"""Train a DF-GAN variant built from registered blocks: DF-GAN's single-stage generator with FF-Blocks
(word-level fusion) after its 64² and 128² blocks (preset ``dfgan_ffblock``), hinge + MA-GP (docs/ffgan.md, "DF-GAN").

Change ``--preset dfgan`` for plain DF-GAN 2022, or swap parts with ``--set`` (e.g. ``--set
model.ffblock_resolutions=[32,64]``). Data: the AttnGAN layout (see ``train_ffgan_cub.py``); the text encoder is
the pre-trained DAMSM one (only its sentence vector is used by plain DF-GAN).

    python examples/train_dfgan_variant.py --data data/birds --text-encoder DAMSMencoders/bird/text_encoder200.pth \\
        --out runs/dfgan_ffblock_cub
    python examples/train_dfgan_variant.py --smoke            # a few CPU steps on CaptionedShapes
"""

from __future__ import annotations

import argparse
from pathlib import Path


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="dfgan_ffblock", help="dfgan_ffblock (default) or dfgan")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--data", help="AttnGAN-format dataset folder")
    p.add_argument("--text-encoder", help="pre-trained DAMSM text encoder")
    p.add_argument("--out", default="runs/dfgan_variant")
    p.add_argument("--epochs", type=int, default=1301, help="DF-GAN CUB: 1301")
    p.add_argument("--steps", type=int)
    p.add_argument("--batch-size", type=int, default=32, help="per process (DF-GAN: 32)")
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--device", default="auto")
    p.add_argument("--precision", default="bf16", choices=["bf16", "fp32"])
    p.add_argument("--compile", action="store_true")
    p.add_argument("--seed", type=int, default=100, help="DF-GAN uses 100")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--smoke", action="store_true", help="a few CPU steps on CaptionedShapes with a tiny model")
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    from fusionblocks.ffgan import build_ffgan, parse_overrides, preset_config, resolve_config
    from fusionblocks.train import Trainer, build_dataset, smoke_overrides

    overrides: dict = {"train.seed": args.seed, "train.batch_size": args.batch_size, "data.num_workers": args.workers}
    if args.smoke:
        overrides = smoke_overrides(preset_config(args.preset))
        args.device, args.precision, args.steps, args.workers = "cpu", "fp32", args.steps or 3, 0
    else:
        if not args.data:
            raise SystemExit("--data is required (or use --smoke)")
        overrides.update({"data.root": args.data, "text.vocabulary": str(Path(args.data) / "captions.pickle")})
        if args.text_encoder:
            overrides["text.weights"] = args.text_encoder
        overrides["train.epochs"] = args.epochs
    overrides.update(parse_overrides(args.overrides))
    config = resolve_config(args.preset, overrides)
    gan = build_ffgan(config)
    dataset = build_dataset(config, seed=config.train.seed)
    # epochs, batch size, seed and DDP's unused-parameter search (model.keep_unused_shortcuts) come from the
    # config; the trainer turns epochs into steps per process
    trainer = Trainer(
        gan, dataset, args.out, steps=args.steps, device=args.device, precision=args.precision,
        compile=args.compile, num_workers=args.workers,
        sample_every=0 if args.smoke else 2000, checkpoint_every=0 if args.smoke else 5000,
        log_every=1 if args.smoke else 50, progress=not args.smoke,
    )
    result = trainer.fit(resume=args.resume)
    if trainer.dist.is_main:
        print(f"step {result.step}: checkpoint {result.checkpoint}, metrics {result.metrics}")


if __name__ == "__main__":
    main()
