"""``fusionblocks eval``: sample from a checkpoint and compute FID / KID / IS / R-precision / CLIP / attributes.

Example::

    fusionblocks eval --checkpoint runs/tiny --metrics attributes,rprec --num-samples 500 --out eval.json
    fusionblocks eval --checkpoint runs/cub --data data/birds --metrics fid,is,rprec --num-samples 30000 \\
        --reference bird_val.npz --inception-weights pt_inception.pth --out eval.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import add_device_args, apply_threads, non_negative_int, positive_int, read_captions, writable_file


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate a checkpoint", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--metrics", default="fid,kid,is",
                   help="comma-separated: fid,kid,is,rprec,rprec_clip,clip,attributes (or 'all')")
    p.add_argument("--num-samples", type=positive_int, help="images to generate (default: one per caption)")
    p.add_argument("--out", default="eval.json", help="JSON report (a Markdown table is written next to it)")
    p.add_argument("--captions", help="caption file (default: the test split of the model's dataset)")
    p.add_argument("--data", help="dataset folder for cub/coco/folder models (overrides data.root)")
    p.add_argument("--reference", help="FID/KID reference: .npz statistics")
    p.add_argument("--inception-weights", help="local Inception weights for FID/KID/IS")
    p.add_argument("--clip-weights", help="local open_clip checkpoint for clip / rprec_clip")
    p.add_argument("--clip-model", default="ViT-B-32")
    p.add_argument("--shape-classifier",
                   help="cache file of the CaptionedShapes judge's shape classifier (default: "
                        "shape_classifier.safetensors in the run folder, trained and saved there on first use)")
    p.add_argument("--allow-random-weights", action="store_true",
                   help="allow random Inception/CLIP weights (smoke tests only; numbers are meaningless)")
    p.add_argument("--batch-size", type=positive_int, default=32)
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--no-ema", action="store_true")
    add_device_args(p)
    p.set_defaults(command="eval")


def run(args: argparse.Namespace) -> int:
    apply_threads(args)
    import torch

    from ..metrics.evaluate import evaluate
    from ..metrics.report import format_markdown, write_json, write_markdown
    from ..train.datasets import build_dataset
    from ..train.device import select_device
    from ..train.restore import load_gan
    from ..train.sampling import generate

    out = writable_file(args.out, "--out")  # before the sampling, not after it
    writable_file(out.with_suffix(".md"), "--out")
    device = select_device(args.device)
    gan, ck = load_gan(args.checkpoint, device=device, use_ema=not args.no_ema)
    if args.captions:
        captions = read_captions(None, args.captions)
    else:
        captions = build_dataset(gan.config, split="test", root=args.data, seed=args.seed)

    shape_classifier = args.shape_classifier
    if shape_classifier is None and ("attributes" in args.metrics or args.metrics.strip() == "all"):
        # the run folder (checkpoints live in <run>/checkpoints/<step>/); the demo leaves its judge there
        shape_classifier = str(Path(ck.path).parent.parent / "shape_classifier.safetensors")

    def sample_fn(batch_captions: list[str]) -> torch.Tensor:
        return generate(gan.generator, gan.text_encoder, batch_captions, seed=None,
                        batch_size=args.batch_size, return_attention=False).images[-1]

    report = evaluate(
        sample_fn, captions, metrics=args.metrics, num_samples=args.num_samples, batch_size=args.batch_size,
        reference=args.reference, inception_weights=args.inception_weights,
        allow_random_weights=args.allow_random_weights, clip_model=args.clip_model, clip_weights=args.clip_weights,
        text_encoder=gan.text_encoder, image_encoder=gan.image_encoder,
        shape_classifier_path=shape_classifier, seed=args.seed, device=device,
    )
    write_json(report, out)
    write_markdown(report, out.with_suffix(".md"))
    print(f"checkpoint {ck.path} (step {ck.step})")
    print(format_markdown(report))
    print(f"report: {out}")
    return 0
