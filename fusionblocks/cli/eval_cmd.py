"""``fusionblocks eval``: compute FID / KID / IS / R-precision / CLIP / attributes, for images sampled from a
checkpoint or for a folder of images you already generated.

Examples:

    fusionblocks eval --checkpoint runs/tiny --metrics attributes,rprec --num-samples 500 --out eval.json
    fusionblocks eval --checkpoint runs/cub --data data/birds --metrics fid,is,rprec --num-samples 30000 \\
        --reference bird_val.npz --inception-weights pt_inception.pth --out eval.json
    fusionblocks eval --images samples/ --reference ref.npz --metrics fid,kid,is --inception-weights W --out e.json

Reference statistics (``.npz``) come from ``fusionblocks stats``. Every result records its protocol: sample count,
split, resize filter, feature extractor and its weights' fingerprint, truncation, EMA or not, and the reference
statistics' fingerprint.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ._common import (
    add_device_args,
    apply_threads,
    non_negative_int,
    plain_text,
    positive_int,
    read_captions,
    writable_file,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate a checkpoint or a folder of images", description=plain_text(__doc__),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="run folder or checkpoint to sample from")
    src.add_argument("--images", help="folder of generated images (captions from <name>.txt next to them, if any)")
    p.add_argument("--metrics", default="fid,kid,is",
                   help="comma-separated: fid,kid,is,rprec,rprec_clip,clip,attributes (or 'all')")
    p.add_argument("--num-samples", type=positive_int, help="images to generate (default: one per caption) or to read")
    p.add_argument("--out", default="eval.json", help="JSON report (a Markdown table is written next to it)")
    p.add_argument("--captions", help="caption file (default: the test split of the model's dataset)")
    p.add_argument("--data", help="dataset folder for cub/coco/folder models (overrides data.root)")
    p.add_argument("--reference", help="FID/KID reference: .npz statistics (from: fusionblocks stats)")
    p.add_argument("--inception-weights", help="local Inception weights for FID/KID/IS")
    p.add_argument("--resize-filter", default="bilinear",
                   help="resize to 299² for Inception: bilinear (default), bilinear-antialias, bicubic, ...")
    p.add_argument("--clip-weights", help="local open_clip checkpoint for clip / rprec_clip")
    p.add_argument("--clip-model", default="ViT-B-32")
    p.add_argument("--shape-classifier",
                   help="cache file of the CaptionedShapes judge's shape classifier (default: "
                        "shape_classifier.safetensors in the run folder, trained and saved there on first use)")
    p.add_argument("--allow-random-weights", action="store_true",
                   help="allow random Inception/CLIP weights (smoke tests only; numbers are meaningless)")
    p.add_argument("--batch-size", type=positive_int, default=32)
    p.add_argument("--seed", type=non_negative_int, default=0,
                   help="noise seed (one seeded generator per batch) and metric seed")
    p.add_argument("--truncation", type=float, help="truncate the noise (DF-GAN uses 0.88); recorded")
    p.add_argument("--no-ema", action="store_true")
    add_device_args(p)
    p.set_defaults(command="eval")


def _checkpoint_source(args: argparse.Namespace, device):
    """``(sample_fn, captions, evaluate kwargs, protocol, banner)`` for sampling from a checkpoint."""
    from ..train.datasets import build_dataset
    from ..train.restore import load_gan
    from ..train.sampling import generate

    gan, ck = load_gan(args.checkpoint, device=device, use_ema=not args.no_ema)
    captions: Any
    if args.captions:
        captions, split = read_captions(None, args.captions), f"captions file {args.captions}"
    else:
        captions, split = build_dataset(gan.config, split="test", root=args.data, seed=args.seed), "test"
    batches = iter(range(1 << 62))

    def sample_fn(batch_captions: list[str]):
        # a seed per batch: reproducible without the global RNG
        return generate(gan.generator, gan.text_encoder, batch_captions, seed=args.seed * 1_000_003 + next(batches),
                        truncation=args.truncation, batch_size=args.batch_size, return_attention=False).images[-1]

    shape_classifier = args.shape_classifier
    if shape_classifier is None and ("attributes" in args.metrics or args.metrics.strip() == "all"):
        # the run folder (checkpoints live in <run>/checkpoints/<step>/); the demo leaves its judge there
        shape_classifier = str(Path(ck.path).parent.parent / "shape_classifier.safetensors")
    protocol = {"source": "checkpoint", "checkpoint": str(ck.path), "step": ck.step, "split": split,
                "ema": not args.no_ema, "truncation": args.truncation}
    kwargs = {"text_encoder": gan.text_encoder, "image_encoder": gan.image_encoder,
              "shape_classifier_path": shape_classifier, "num_samples": args.num_samples}
    return sample_fn, captions, kwargs, protocol, f"checkpoint {ck.path} (step {ck.step})"


def run(args: argparse.Namespace) -> int:
    apply_threads(args)
    from ..metrics.evaluate import evaluate, evaluate_images
    from ..metrics.report import format_markdown, write_json, write_markdown
    from ..train.device import select_device

    out = writable_file(args.out, "--out")  # before the sampling, not after it
    writable_file(out.with_suffix(".md"), "--out")
    device = select_device(args.device)
    common = dict(
        metrics=args.metrics, batch_size=args.batch_size, reference=args.reference,
        inception_weights=args.inception_weights, resize_filter=args.resize_filter,
        allow_random_weights=args.allow_random_weights, clip_model=args.clip_model, clip_weights=args.clip_weights,
        seed=args.seed, device=device,
    )
    if args.images:
        from ..data import ImageFolder

        images = ImageFolder(args.images, limit=args.num_samples)
        protocol = {"source": "images", "images": str(Path(args.images)), "ema": None, "truncation": None,
                    "split": None}
        report = evaluate_images(images, shape_classifier_path=args.shape_classifier, protocol=protocol, **common)
        banner = f"images {args.images} ({len(images)} files" + (
            f"; left out {len(images.skipped)} without a caption file, e.g. {images.skipped[0].name})"
            if images.skipped else ")")
    else:
        sample_fn, captions, kwargs, protocol, banner = _checkpoint_source(args, device)
        report = evaluate(sample_fn, captions, protocol=protocol, **kwargs, **common)
    write_json(report, out)
    write_markdown(report, out.with_suffix(".md"))
    print(banner)
    print(format_markdown(report))
    print(f"report: {out}")
    return 0
