"""``fusionblocks train``: train a preset or config on its dataset, with checkpoints you can ``--resume`` from.

Examples:

    fusionblocks train --preset tiny64 --steps 2000 --set text.weights=runs/damsm/text_encoder.safetensors \\
        --set image.weights=runs/damsm/image_encoder.safetensors --out runs/tiny
    fusionblocks train --preset cub256 --data data/birds --set text.weights=text_encoder200.pth \\
        --set image.weights=image_encoder200.pth --set image.backbone_weights=inception_v3_google.pth --out runs/cub
    fusionblocks train --preset tiny64 --steps 20 --allow-random-encoders --out runs/smoke   # a smoke run
    fusionblocks train --out runs/tiny --resume            # the config is read back from the checkpoint
    torchrun --nproc_per_node 4 -m fusionblocks train --preset cub256 --data data/birds --out runs/cub

The schedule (train.steps or train.epochs), batch size, seed and precision come from the config; the flags below
that say "= --set ..." change it, and are stored with it. The text encoder's vocabulary comes from the dataset
(its captions.pickle, or one built from its captions) unless text.vocabulary names one; it is saved with every
checkpoint.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._common import (
    add_device_args,
    apply_threads,
    check_folder_path,
    config_source,
    non_negative_int,
    plain_text,
    positive_int,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a model", description=plain_text(__doc__),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--preset", help="preset name (see: fusionblocks list model)")
    src.add_argument("--config", type=config_source, help="YAML config file")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set train.batch_size=8 (repeatable)")
    p.add_argument("--steps", type=positive_int,
                   help="total training steps (= --set train.steps=N; default: the config's train.steps, or "
                   "train.epochs)")
    p.add_argument("--out", help="run folder (default: runs/<config name>)")
    p.add_argument("--resume", nargs="?", const=True, default=False, metavar="CHECKPOINT",
                   help="continue from the newest checkpoint in --out, or from the given checkpoint folder")
    p.add_argument("--data", help="dataset folder (= --set data.root=DIR)")
    p.add_argument("--batch-size", type=positive_int, help="per-process batch size (= --set train.batch_size=N)")
    p.add_argument("--seed", type=non_negative_int, help="run seed (= --set train.seed=N)")
    p.add_argument("--num-workers", type=non_negative_int, help="DataLoader workers (= --set data.num_workers=N)")
    p.add_argument("--log-every", type=positive_int, help="= --set train.log_every=N")
    p.add_argument("--sample-every", type=non_negative_int, help="= --set train.sample_every=N (0: only at the end)")
    p.add_argument("--checkpoint-every", type=non_negative_int,
                   help="= --set train.checkpoint_every=N (0: only at the end)")
    p.add_argument("--keep", type=positive_int, default=2, help="checkpoints to keep (default 2)")
    p.add_argument("--nonfinite-patience", type=non_negative_int, default=None, metavar="N",
                   help="consecutive steps with NaN/Inf gradients (each update skipped) before training stops "
                   "(default 10; 0: stop at the first)")
    p.add_argument("--compile", action="store_true", help="torch.compile the generator and discriminators")
    p.add_argument("--channels-last", action="store_true", help="channels-last memory format")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--allow-random-encoders", action="store_true",
                   help="train even though the frozen text/image encoders have no pre-trained weights (tests and "
                        "smoke runs only: the text conditioning is then meaningless)")
    p.add_argument("--tensorboard", action="store_true",
                   help="also log to TensorBoard in OUT/tensorboard (needs the tensorboard package)")
    add_device_args(p)
    p.set_defaults(precision=None, command="train")
    p.epilog = ("Exit status: 0 done; 2 a user error (one line naming the argument or file); 3 training diverged "
                "(NaN/Inf; the message names the last finite checkpoint, still the run's latest). "
                "Flags such as --steps/--batch-size/--precision are stored in the run's config, so --out DIR "
                "--resume alone continues the same run.")


def _flag_overrides(args: argparse.Namespace) -> dict:
    """Command-line shorthands become config overrides, so the saved config reproduces the run on --resume."""
    out: dict = {}
    for flag, key in (("steps", "train.steps"), ("batch_size", "train.batch_size"), ("seed", "train.seed"),
                      ("log_every", "train.log_every"), ("sample_every", "train.sample_every"),
                      ("checkpoint_every", "train.checkpoint_every"), ("precision", "train.precision"),
                      ("num_workers", "data.num_workers"), ("data", "data.root")):
        value = getattr(args, flag)
        if value is not None:
            out[key] = value
    return out


def run(args: argparse.Namespace) -> int:
    apply_threads(args)
    from ..data import vocabulary_for_config
    from ..ffgan import build_ffgan, parse_overrides, require_pretrained_encoders, resolve_config
    from ..train.checkpoint import list_checkpoints, load_checkpoint
    from ..train.datasets import build_dataset
    from ..train.rng import seed_everything
    from ..train.trainer import Trainer, TrainingDivergedError

    overrides = {**parse_overrides(args.overrides), **_flag_overrides(args)}
    spec = args.preset or args.config
    out = Path(args.out) if args.out else None
    if spec is None:
        source = args.resume if isinstance(args.resume, str) else out
        has_run = isinstance(args.resume, str) or (out is not None and bool(list_checkpoints(out)))
        if not (args.resume and source is not None and has_run):
            raise ValueError("give --preset NAME or --config FILE (or --out DIR --resume for an existing run)")
        spec = load_checkpoint(source, groups=[], load_optimizers=False).config
    config = resolve_config(spec, overrides)
    out = check_folder_path(out or Path("runs") / config.name, "--out")
    resuming = bool(args.resume) and (isinstance(args.resume, str) or bool(list_checkpoints(out)))
    if not resuming:  # a resumed run restores the encoders it started with from its checkpoint
        require_pretrained_encoders(config, allow_random=args.allow_random_encoders)
    seed_everything(config.train.seed)  # before the model exists: its initial weights come from the seeded RNG
    dataset = build_dataset(config, seed=config.train.seed)
    gan = build_ffgan(config, vocabulary=vocabulary_for_config(config, dataset=dataset))
    # the schedule, batch size, seed and precision come from the config; these flags only concern this process
    trainer = Trainer(
        gan, dataset, out, device=args.device, channels_last=args.channels_last, compile=args.compile,
        keep_checkpoints=args.keep, progress=not args.no_progress, tensorboard=args.tensorboard,
        nonfinite_patience=args.nonfinite_patience,
    )
    if trainer.dist.is_main:
        print(f"training {config.name!r} ({gan.num_parameters()['generator']:,} G parameters) on {trainer.device}, "
              f"{trainer.precision}, batch {trainer.cfg.batch_size} x {trainer.dist.world_size}, "
              f"{trainer.total_steps} steps -> {out}", file=sys.stderr)
    try:  # fit holds the run folder's lock: a second `train --out` of the same folder exits 2 naming this PID
        result = trainer.fit(resume=args.resume)
    except TrainingDivergedError as err:  # NaN/Inf: not a usage error, so its own status
        print(f"fusionblocks train: error: {err}", file=sys.stderr)
        return 3
    if trainer.dist.is_main:
        print(f"done: step {result.step}; checkpoint {result.checkpoint}; metrics {result.metrics}")
        grids = [g for g in result.grids if not g.name.endswith("_attention.png")]
        if grids:
            print(f"samples: {grids[-1]} (word attention: {grids[-1].with_name(grids[-1].stem + '_attention.png')})")
    return 0
