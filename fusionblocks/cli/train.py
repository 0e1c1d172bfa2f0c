"""``fusionblocks train``: train a preset or config on its dataset, with checkpoints you can ``--resume`` from.

Examples::

    fusionblocks train --preset tiny64 --steps 2000 --out runs/tiny
    fusionblocks train --preset cub256 --data data/birds --set train.batch_size=8 --out runs/cub
    fusionblocks train --out runs/tiny --resume            # the config is read back from the checkpoint
    torchrun --nproc_per_node 4 -m fusionblocks train --preset cub256 --data data/birds --out runs/cub
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._common import add_device_args


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a model", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--preset", help="preset name (see `fusionblocks list model`)")
    src.add_argument("--config", help="YAML config file")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set train.batch_size=8 (repeatable)")
    p.add_argument("--steps", type=int, help="total training steps (default: train.steps, or train.epochs)")
    p.add_argument("--out", help="run folder (default: runs/<config name>)")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --out")
    p.add_argument("--data", help="dataset folder (overrides data.root)")
    p.add_argument("--batch-size", type=int, help="per-process batch size (overrides train.batch_size)")
    p.add_argument("--seed", type=int, help="run seed (overrides train.seed)")
    p.add_argument("--num-workers", type=int, help="DataLoader workers (overrides data.num_workers)")
    p.add_argument("--log-every", type=int)
    p.add_argument("--sample-every", type=int)
    p.add_argument("--checkpoint-every", type=int)
    p.add_argument("--keep", type=int, default=2, help="checkpoints to keep (default 2)")
    p.add_argument("--compile", action="store_true", help="torch.compile the generator and discriminators")
    p.add_argument("--channels-last", action="store_true", help="channels-last memory format")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_device_args(p)
    p.set_defaults(precision=None, command="train")


def _precision(args: argparse.Namespace, config) -> str:
    if args.precision:
        return args.precision
    amp = config.train.amp
    if amp in ("none", "fp32"):
        return "fp32"
    if amp == "bf16":
        return "bf16"
    raise ValueError(f"train.amp: {amp!r} is not supported by the trainer; use 'bf16' or 'none'")


def _steps(args: argparse.Namespace, config, dataset_len: int, batch: int, world: int) -> int:
    if args.steps is not None:
        return args.steps
    if config.train.steps:
        return int(config.train.steps)
    if config.train.epochs:
        return int(config.train.epochs) * max(1, dataset_len // (batch * world))
    raise ValueError("--steps: not given and the config sets neither train.steps nor train.epochs")


def run(args: argparse.Namespace) -> int:
    import os

    from ..ffgan import build_ffgan, parse_overrides, resolve_config
    from ..train.checkpoint import list_checkpoints, load_checkpoint
    from ..train.datasets import build_dataset
    from ..train.trainer import NonFiniteLossError, Trainer, TrainerConfig

    overrides = parse_overrides(args.overrides)
    spec = args.preset or args.config
    out = Path(args.out) if args.out else None
    if spec is None:
        if not (args.resume and out is not None and list_checkpoints(out)):
            raise ValueError("give --preset NAME or --config FILE (or --out DIR --resume for an existing run)")
        spec = load_checkpoint(out, groups=[], load_optimizers=False).config
    config = resolve_config(spec, overrides)
    out = out or Path("runs") / config.name
    world = int(os.environ.get("WORLD_SIZE", "1"))
    gan = build_ffgan(config)
    dataset = build_dataset(config, root=args.data, seed=config.train.seed if args.seed is None else args.seed)
    batch = args.batch_size or config.train.batch_size
    tcfg = TrainerConfig(
        steps=_steps(args, config, len(dataset), batch, world),
        batch_size=batch,
        seed=config.train.seed if args.seed is None else args.seed,
        device=args.device,
        precision=_precision(args, config),
        channels_last=args.channels_last,
        compile=args.compile,
        num_workers=config.data.num_workers if args.num_workers is None else args.num_workers,
        log_every=args.log_every or config.train.log_every,
        sample_every=config.train.sample_every if args.sample_every is None else args.sample_every,
        checkpoint_every=config.train.checkpoint_every if args.checkpoint_every is None else args.checkpoint_every,
        keep_checkpoints=args.keep,
        progress=not args.no_progress,
    )
    trainer = Trainer(gan, dataset, out, tcfg)
    if trainer.dist.is_main:
        print(f"training {config.name!r} ({gan.num_parameters()['generator']:,} G parameters) on {trainer.device}, "
              f"{trainer.precision}, batch {batch} x {trainer.dist.world_size}, {tcfg.steps} steps -> {out}",
              file=sys.stderr)
    try:
        result = trainer.fit(resume=args.resume)
    except NonFiniteLossError as err:
        print(f"fusionblocks train: error: {err}", file=sys.stderr)
        return 3
    if trainer.dist.is_main:
        print(f"done: step {result.step}; checkpoint {result.checkpoint}; metrics {result.metrics}")
        if result.grids:
            print(f"samples: {result.grids[-1]}")
    return 0
