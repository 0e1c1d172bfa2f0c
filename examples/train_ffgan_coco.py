"""Train FF-GAN on COCO-2014 with the official recipe (preset ``coco256``), on GPU(s).

The official recipe (spec ffgan.md §0, §3, §5): 3 stages 64²→128²→256², ngf 64 / ndf 32, R_NUM 3, 12 words, batch 16 per process,
Adam 2e-4 β=(0.5, 0.999) for G and each D, BCE per scale + DAMSM (λ=50, γ=4/5/10) + CA KL, EMA 0.999, 200 epochs
(evaluated at 120).
The DAMSM encoders must be pre-trained first (official ``coco/text_encoder100.pth`` / ``image_encoder100.pth``, or
``fusionblocks pretrain-damsm``), and the vocabulary is the dataset's ``captions.pickle``.

Data: the AttnGAN layout::

    DATA/
      images/COCO_train2014_*.jpg, images/COCO_val2014_*.jpg
      text/<image>.txt                  (5 captions per image)
      train/filenames.pickle  test/filenames.pickle
      captions.pickle

Run (one GPU, or several with torchrun)::

    python examples/train_ffgan_coco.py --data data/coco --text-encoder DAMSMencoders/coco/text_encoder100.pth \\
        --image-encoder DAMSMencoders/coco/image_encoder100.pth --out runs/ffgan_coco
    torchrun --nproc_per_node 4 examples/train_ffgan_coco.py --data data/coco ... --out runs/ffgan_coco
    python examples/train_ffgan_coco.py ... --out runs/ffgan_coco --resume      # continue after an interruption

``--smoke`` runs the same recipe (3 stages, BCE + DAMSM + KL, EMA) for a few steps on CPU on a tiny model and the
built-in CaptionedShapes data, to check the installation.
"""

from __future__ import annotations

import argparse
from pathlib import Path

PRESET = "coco256"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="AttnGAN-format COCO folder (holding images/, text/, captions.pickle)")
    p.add_argument("--text-encoder", help="pre-trained DAMSM text encoder (official .pth or ours)")
    p.add_argument("--image-encoder", help="pre-trained DAMSM image encoder (official .pth or ours)")
    p.add_argument("--backbone-weights", help="ImageNet Inception-v3 weights (when --image-encoder is ours)")
    p.add_argument("--out", default="runs/ffgan_coco", help="run folder (checkpoints, metrics.jsonl, samples/)")
    p.add_argument("--epochs", type=int, default=200, help="official: 200 (evaluated at 120)")
    p.add_argument("--steps", type=int, help="stop after this many steps instead of --epochs")
    p.add_argument("--batch-size", type=int, default=16, help="per process (official: 16)")
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


def main(argv=None) -> None:
    args = parse_args(argv)
    from fusionblocks.ffgan import build_ffgan, preset_config, resolve_config
    from fusionblocks.train import Trainer, TrainerConfig, build_dataset, smoke_overrides

    overrides: dict = {"train.seed": args.seed, "train.batch_size": args.batch_size, "data.num_workers": args.workers}
    if args.smoke:
        overrides = smoke_overrides(preset_config(PRESET))
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
    config = resolve_config(PRESET, overrides)
    gan = build_ffgan(config)
    dataset = build_dataset(config, seed=config.train.seed)
    if args.steps:
        steps = args.steps
    else:
        import os

        world = int(os.environ.get("WORLD_SIZE", "1"))
        steps = args.epochs * max(1, len(dataset) // (config.train.batch_size * world))
    trainer = Trainer(
        gan,
        dataset,
        args.out,
        TrainerConfig(
            steps=steps,
            batch_size=config.train.batch_size,
            seed=config.train.seed,
            device=args.device,
            precision=args.precision,
            compile=args.compile,
            channels_last=args.channels_last,
            num_workers=args.workers,
            sample_every=0 if args.smoke else args.sample_every,
            checkpoint_every=0 if args.smoke else args.checkpoint_every,
            log_every=1 if args.smoke else 50,
            progress=not args.smoke,
        ),
    )
    result = trainer.fit(resume=args.resume)
    if trainer.dist.is_main:
        print(f"step {result.step}: checkpoint {result.checkpoint}, metrics {result.metrics}")


if __name__ == "__main__":
    main()
