"""Shared driver of the training examples (``train_ffgan.py``, ``train_dfgan_variant.py``).

Everything that decides how a run behaves lives in the library and is only called from here:

- the schedule, batch size, seed and precision come from the model config (``TrainerConfig.from_config``); epochs
  become steps per process once, inside the trainer, so N GPUs under ``torchrun`` train the configured epochs,
  not N times them;
- ``--precision auto`` (the default) is bf16 where the device supports it (CUDA with bf16, CPU) and fp32 elsewhere;
- the text encoder's vocabulary is the dataset's (``captions.pickle`` or ``captions_DAMSM.pickle``, or one built
  from the captions), found as ``fusionblocks train`` finds it;
- frozen encoders without pre-trained weights are refused unless ``--allow-random-encoders``;
- ``--resume`` continues from the newest checkpoint in ``--out``, ``--resume CHECKPOINT`` from that one.

``--smoke`` shrinks the preset (same stages, fusion and recipe; tiny widths, CaptionedShapes) and runs a few steps
on the CPU in fp32 without workers. ``--smoke --smoke-device`` runs the same tiny model on ``--device`` with
``--workers`` and ``--precision``, so ``--smoke --smoke-device --device cuda`` exercises CUDA placement, worker
processes, pinned memory and autocast in seconds (``benchmarks/gpu_check.sh`` does).
"""

from __future__ import annotations

import argparse


def add_training_args(parser: argparse.ArgumentParser, *, preset: str, out: str, seed: int = 0) -> None:
    """The flags every training example shares (``preset``/``out``/``seed``: this example's defaults)."""
    p = parser
    p.add_argument("--preset", default=preset, help=f"model preset (default {preset}; see `fusionblocks list model`)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="config override, e.g. --set model.ngf=32 (repeatable)")
    p.add_argument("--data", help="dataset folder (AttnGAN layout for cub/coco presets)")
    p.add_argument("--text-encoder", help="pre-trained DAMSM text encoder (official .pth or ours) = text.weights")
    p.add_argument("--image-encoder", help="pre-trained DAMSM image encoder (official .pth or ours) = image.weights")
    p.add_argument("--backbone-weights", help="ImageNet Inception-v3 weights (local file) = image.backbone_weights")
    p.add_argument("--out", default=out, help="run folder (checkpoints, metrics.jsonl, samples/)")
    p.add_argument("--epochs", type=int, help="passes over the data (default: the preset's)")
    p.add_argument("--steps", type=int, help="stop after this many steps instead of --epochs")
    p.add_argument("--batch-size", type=int, help="per process (default: the preset's)")
    p.add_argument("--workers", type=int, default=4, help="DataLoader workers (default 4)")
    p.add_argument("--device", default="auto", help="auto (CUDA, else MPS, else CPU), cpu, cuda, cuda:1, ...")
    p.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp32"],
                   help="autocast: auto = bf16 where the device supports it, else fp32 (default)")
    p.add_argument("--compile", action="store_true", help="torch.compile G and the Ds")
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--sample-every", type=int, default=2000)
    p.add_argument("--checkpoint-every", type=int, default=5000)
    p.add_argument("--seed", type=int, default=seed)
    p.add_argument("--resume", nargs="?", const=True, default=False, metavar="CHECKPOINT",
                   help="continue from the newest checkpoint in --out, or from the given checkpoint folder")
    p.add_argument("--allow-random-encoders", action="store_true",
                   help="train without pre-trained encoders (tests only: the text conditioning is meaningless)")
    p.add_argument("--smoke", action="store_true", help="a few steps of a tiny version of the preset (CPU, fp32)")
    p.add_argument("--smoke-device", action="store_true",
                   help="with --smoke: run on --device with --workers and --precision instead of CPU/0/fp32")


def run(args: argparse.Namespace) -> None:
    """Train ``args.preset`` with the flags of [add_training_args]."""
    from fusionblocks.data import vocabulary_for_config
    from fusionblocks.ffgan import build_ffgan, parse_overrides, preset_config, require_pretrained_encoders, resolve_config
    from fusionblocks.train import Trainer, build_dataset, list_checkpoints, smoke_overrides

    if args.smoke_device and not args.smoke:
        raise SystemExit("--smoke-device: only with --smoke")
    overrides: dict = {"train.seed": args.seed, "data.num_workers": args.workers, "train.precision": args.precision}
    if args.smoke:
        overrides = {**smoke_overrides(preset_config(args.preset)), "train.seed": args.seed}
        if args.smoke_device:
            overrides.update({"data.num_workers": args.workers, "train.precision": args.precision})
        else:
            args.device = "cpu"
        args.steps = args.steps or 3
    else:
        if not args.data:
            raise SystemExit("--data is required (or use --smoke)")
        overrides["data.root"] = args.data
        for flag, key in (("text_encoder", "text.weights"), ("image_encoder", "image.weights"),
                          ("backbone_weights", "image.backbone_weights"), ("epochs", "train.epochs"),
                          ("batch_size", "train.batch_size")):
            if getattr(args, flag) is not None:
                overrides[key] = getattr(args, flag)
    overrides.update(parse_overrides(args.overrides))
    config = resolve_config(args.preset, overrides)
    resuming = bool(args.resume) and (isinstance(args.resume, str) or bool(list_checkpoints(args.out)))
    if not resuming:  # a resumed run restores its encoders from the checkpoint
        require_pretrained_encoders(config, allow_random=args.allow_random_encoders or args.smoke)
    dataset = build_dataset(config, seed=config.train.seed)
    gan = build_ffgan(config, vocabulary=vocabulary_for_config(config, dataset=dataset))
    trainer = Trainer(
        gan, dataset, args.out, steps=args.steps, device=args.device, compile=args.compile,
        channels_last=args.channels_last, sample_every=0 if args.smoke else args.sample_every,
        checkpoint_every=0 if args.smoke else args.checkpoint_every, log_every=1 if args.smoke else 50,
        progress=not args.smoke,
    )
    if trainer.dist.is_main:
        print(f"{config.name}: {trainer.total_steps} steps of batch {trainer.cfg.batch_size} x "
              f"{trainer.dist.world_size} on {trainer.device} ({trainer.precision}, {trainer.cfg.num_workers} workers)")
    result = trainer.fit(resume=args.resume)
    if trainer.dist.is_main:
        print(f"step {result.step}: checkpoint {result.checkpoint}, metrics {result.metrics}")
