"""Generate images from your own captions with a trained checkpoint (ours, or official ones converted with
``fusionblocks convert``): one PNG per image, a captioned grid and a word-attention grid.

    python examples/sample.py --checkpoint runs/demo --caption "a large red circle" --caption "a small blue square" \\
        --num 4 --out samples/
    python examples/sample.py --smoke          # trains a 2-step tiny model on CPU, then samples from it
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", help="run folder, its checkpoints/ folder or a step folder")
    p.add_argument("--caption", action="append", help="a caption (repeatable)")
    p.add_argument("--captions", help="text file, one caption per line")
    p.add_argument("--num", type=int, default=4, help="images per caption")
    p.add_argument("--out", default="samples")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--smoke", action="store_true", help="train a 2-step tiny model first, then sample from it")
    return p.parse_args(argv)


def _smoke_checkpoint(folder: Path) -> Path:
    from fusionblocks.ffgan import build_ffgan, preset_config
    from fusionblocks.train import Trainer, TrainerConfig, build_dataset, smoke_overrides

    gan = build_ffgan("tiny64", **smoke_overrides(preset_config("tiny64")))
    trainer = Trainer(gan, build_dataset(gan.config), folder,
                      TrainerConfig(steps=2, batch_size=4, device="cpu", precision="fp32", sample_every=0,
                                    checkpoint_every=0, progress=False, tensorboard=False))
    trainer.fit()
    return folder


def main(argv=None) -> None:
    args = parse_args(argv)
    from fusionblocks.cli._common import read_captions
    from fusionblocks.cli.sample import sample_to_folder
    from fusionblocks.train import load_gan, select_device

    tmp = None
    if args.smoke:
        tmp = tempfile.TemporaryDirectory()
        args.checkpoint = str(_smoke_checkpoint(Path(tmp.name) / "run"))
        args.caption = args.caption or ["a large red circle", "a small blue square"]
        args.device, args.num = "cpu", 2
    if not args.checkpoint:
        raise SystemExit("--checkpoint is required (or use --smoke)")
    captions = read_captions(args.caption, args.captions)
    gan, ck = load_gan(args.checkpoint, device=select_device(args.device))
    files = sample_to_folder(gan, captions, Path(args.out), num=args.num, seed=args.seed)
    print(f"{len(captions) * args.num} images from step {ck.step} of {ck.path} -> {args.out} (grid: {files['grid.png']})")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
