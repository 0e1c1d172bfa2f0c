"""``fusionblocks sample``: images from your captions with a trained checkpoint (PNGs + a captioned grid).

Example:

    fusionblocks sample --checkpoint runs/tiny --caption "a large red circle" --caption "a small blue square" \\
        --num 4 --out samples/
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
import warnings
from pathlib import Path

from ._common import (
    add_device_args,
    apply_threads,
    check_folder_path,
    non_negative_int,
    plain_text,
    positive_float,
    positive_int,
    read_captions,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sample", help="generate images from captions", description=plain_text(__doc__),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="run folder, its checkpoints/ folder or a step folder")
    p.add_argument("--caption", action="append", help="a caption (repeatable)")
    p.add_argument("--captions", help="text file with one caption per line")
    p.add_argument("--num", type=positive_int, default=1, help="images per caption (default 1)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--seed", type=non_negative_int, default=0, help="noise seed (default 0)")
    p.add_argument("--truncation", type=positive_float, help="truncate the noise (DF-GAN uses 0.88)")
    p.add_argument("--no-ema", action="store_true", help="use the live generator weights instead of the EMA")
    p.add_argument("--batch-size", type=positive_int, default=32)
    add_device_args(p)
    p.set_defaults(command="sample")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:48] or "caption"


def sample_to_folder(gan, captions: list[str], out: Path, *, num: int = 1, seed: int = 0,
                     truncation: float | None = None, batch_size: int = 32, autocast=None) -> dict[str, Path]:
    """Generate ``num`` images per caption; write one PNG each (with its caption in a ``.txt`` of the same name,
    which ``fusionblocks eval --images`` reads), ``grid.png`` and (if any) ``attention.png``."""
    from ..train.grids import attention_grid, caption_grid, to_pil
    from ..train.sampling import generate

    if num < 1:
        raise ValueError(f"--num: expected >= 1, got {num}")
    out.mkdir(parents=True, exist_ok=True)
    expanded = [c for c in captions for _ in range(num)]
    result = generate(gan.generator, gan.text_encoder, expanded, seed=seed, truncation=truncation,
                      batch_size=batch_size, autocast=autocast or contextlib.nullcontext)
    images = result.images[-1]
    files = {}
    for i, (caption, image) in enumerate(zip(expanded, images)):
        path = out / f"{i // num:03d}_{_slug(caption)}_{i % num}.png"
        to_pil(image).save(path)
        path.with_suffix(".txt").write_text(caption + "\n", encoding="utf-8")
        files[path.name] = path
    files["grid.png"] = out / "grid.png"
    columns = num * max(1, 8 // num) if num > 1 else min(8, len(expanded))  # whole captions per row
    caption_grid(images, expanded, columns=columns, path=files["grid.png"])
    if result.attention:
        files["attention.png"] = out / "attention.png"
        attention_grid(images, result.attention[-1], expanded, path=files["attention.png"])
    return files


def run(args: argparse.Namespace) -> int:
    apply_threads(args)
    from ..train.device import autocast_factory, resolve_precision, select_device
    from ..train.restore import load_gan

    captions = read_captions(args.caption, args.captions)
    out = check_folder_path(args.out, "--out")  # before loading and sampling
    device = select_device(args.device)
    precision = resolve_precision(args.precision, device) if args.precision != "auto" else "fp32"
    gan, ck = load_gan(args.checkpoint, device=device, use_ema=not args.no_ema)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        files = sample_to_folder(gan, captions, out, num=args.num, seed=args.seed, truncation=args.truncation,
                                 batch_size=args.batch_size, autocast=autocast_factory(device, precision))
    for message in dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, UserWarning)):
        print(f"fusionblocks sample: warning: {message}", file=sys.stderr)
    print(f"{len(files) - (2 if 'attention.png' in files else 1)} images from {ck.path} (step {ck.step}) -> {out}")
    print(f"grid: {files['grid.png']}")
    return 0
