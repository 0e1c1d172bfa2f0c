"""``fusionblocks stats DATA --out ref.npz``: FID/KID reference statistics of real images, with their protocol.

DATA is a dataset folder (the AttnGAN layout of CUB/COCO, a folder of captioned images, or any folder of images)
or the word ``captioned_shapes``. The ``.npz`` holds ``mu``/``sigma`` (what pytorch-fid, DM-GAN and DF-GAN read),
the features (for KID, unless ``--no-features``) and the protocol: dataset, split, image count, image size, crop,
resize filter, feature extractor and its weights' fingerprint. ``fusionblocks eval --reference ref.npz`` warns when
its own settings differ. Examples:

    fusionblocks stats data/birds --split test --image-size 256 --inception-weights pt_inception.pth --out bird_test.npz
    fusionblocks stats captioned_shapes --split test --num 1000 --image-size 64 --inception-weights W --out shapes.npz
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from ._common import add_device_args, apply_threads, plain_text, positive_int, writable_file
from .vocab import detect_layout


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stats", help="FID reference statistics of a dataset", description=plain_text(__doc__),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", metavar="DATA", help="dataset folder, or 'captioned_shapes'")
    p.add_argument("--out", required=True, help="output .npz file")
    p.add_argument("--dataset", default="auto", choices=["auto", "cub", "coco", "folder", "images", "captioned_shapes"],
                   help="layout of DATA (auto: cub/coco with train/filenames.pickle, folder with captions, "
                        "else images)")
    p.add_argument("--split", default="test", choices=["train", "test", "val"],
                   help="split (AttnGAN layout, CaptionedShapes; a plain folder has none); default test")
    p.add_argument("--image-size", type=positive_int, default=256, help="images are made this size first (default 256)")
    p.add_argument("--num", type=positive_int,
                   help="use at most this many images (CaptionedShapes: how many; default 1000)")
    p.add_argument("--inception-weights", help="local Inception weights (pytorch-fid's pt_inception-2015-12-05)")
    p.add_argument("--allow-random-weights", action="store_true", help="random Inception (tests only)")
    p.add_argument("--resize-filter", default="bilinear", help="resize to 299²: bilinear (default), bicubic, ...")
    p.add_argument("--batch-size", type=positive_int, default=50)
    p.add_argument("--no-features", action="store_true", help="store mu/sigma only (no KID against this file)")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    add_device_args(p)
    p.set_defaults(command="stats")


def _images(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """``(dataset of {"image"}, protocol entries)`` for DATA."""
    from .. import data as fbdata

    size = args.image_size
    dataset: Any
    if args.data == "captioned_shapes" or args.dataset == "captioned_shapes":
        count = args.num or 1000
        dataset = fbdata.CaptionedShapes(size=count, resolution=size, split=args.split, max_objects=2)
        return dataset, {"dataset": "captioned_shapes", "split": args.split, "crop": "rendered at the image size"}
    root = Path(args.data)
    if not root.is_dir():
        raise FileNotFoundError(f"DATA: {str(root)!r} is not a directory (or give 'captioned_shapes')")
    layout = args.dataset
    if layout == "auto":
        layout = detect_layout(root)
        if layout == "folder" and not any(root.rglob("*.txt")):
            layout = "images"
    info = {"dataset": layout, "root": str(root)}
    if layout in ("cub", "coco"):
        if args.split not in ("train", "test"):
            raise ValueError(f"--split: the AttnGAN layout has train and test, got {args.split!r}")
        cls = fbdata.CUBDataset if layout == "cub" else fbdata.COCODataset
        dataset = cls(root, args.split, base_size=size, num_scales=1, random_transform=False)
        crop = "CUB bounding box, " if layout == "cub" else ""
        return dataset, {**info, "split": args.split,
                         "crop": f"{crop}shorter side to {int(size * 76 / 64)} (bilinear), centre {size}²"}
    dataset = fbdata.ImageFolder(root, image_size=size)
    return dataset, {**info, "split": None, "crop": f"shorter side to {size} (bilinear), centre {size}²"}


def run(args: argparse.Namespace) -> int:
    apply_threads(args)
    import torch
    from torch.utils.data import Subset

    from ..metrics import InceptionFeatureExtractor, compute_reference_stats, save_stats, stats_fingerprint
    from ..train.device import select_device

    out = Path(args.out)
    if out.exists() and not args.force:
        raise FileExistsError(f"--out: {out} exists (pass --force to overwrite)")
    writable_file(out, "--out")  # before the feature extraction, not after it
    if args.image_size < 8:
        raise ValueError(f"--image-size: expected >= 8, got {args.image_size}")
    dataset, info = _images(args)
    if args.num is not None and args.num < len(dataset):
        dataset = Subset(dataset, range(args.num))
    device = select_device(args.device)
    with torch.random.fork_rng(devices=[]):
        extractor = InceptionFeatureExtractor(args.inception_weights, allow_random_weights=args.allow_random_weights,
                                              resize_filter=args.resize_filter).to(device)
    stats = compute_reference_stats(dataset, extractor, batch_size=args.batch_size,
                                    keep_features=not args.no_features, **info)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    save_stats(partial, stats)
    os.replace(partial, out)
    meta = stats.meta
    print(f"{out}: {meta['num_samples']} images ({info['dataset']}, split {info.get('split')}), "
          f"{meta['image_size']} px, resize {meta['resize_filter']}, Inception weights {meta['weights']} "
          f"(fingerprint {meta['weights_fingerprint']}); statistics fingerprint {stats_fingerprint(stats)}")
    if extractor.random_weights:
        print("warning: RANDOM Inception weights: these statistics are for tests only")
    return 0
