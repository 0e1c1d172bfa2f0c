"""``fusionblocks pretrain-damsm``: pre-train the DAMSM text and image encoders of a config on its dataset.

The encoders are the ones the config builds (``text.encoder``, ``image.encoder``); the result
(``text_encoder.safetensors``, ``image_encoder.safetensors``, ``vocabulary.json``, ``history.json``) is what
``--set text.weights=OUT/text_encoder.safetensors --set image.weights=OUT/image_encoder.safetensors`` expects.
Examples:

    fusionblocks pretrain-damsm --preset tiny64 --steps 300 --out runs/damsm_shapes
    fusionblocks pretrain-damsm --preset cub256 --data data/birds --epochs 600 --batch-size 48 \\
        --set image.backbone_weights=inception_v3_google.pth --out runs/damsm_cub

The text encoder's vocabulary is the dataset's (``captions.pickle``, or one built from the captions); it is saved
as ``vocabulary.json`` next to the weights, and training with ``--set text.weights=OUT/text_encoder.safetensors``
picks it up from there. The Inception image encoder needs local ImageNet weights (``image.backbone_weights``:
a torchvision ``inception_v3_google-*.pth`` or a timm checkpoint); nothing is downloaded.
"""

from __future__ import annotations

import argparse
from collections.abc import Sized

from ._common import (
    add_device_args,
    apply_threads,
    config_source,
    non_negative_int,
    plain_text,
    positive_float,
    positive_int,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pretrain-damsm", help="pre-train the DAMSM encoders", description=plain_text(__doc__),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--preset")
    src.add_argument("--config", type=config_source, help="YAML config file")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--steps", type=positive_int, help="optimiser steps")
    p.add_argument("--epochs", type=positive_int, help="passes over the dataset (official: 600 CUB, 120 COCO)")
    p.add_argument("--out", required=True, help="output folder for the encoder weights")
    p.add_argument("--data", help="dataset folder (overrides data.root)")
    p.add_argument("--batch-size", type=positive_int, default=48, help="official: 48")
    p.add_argument("--lr", type=positive_float, default=0.002, help="official: 0.002, decayed x0.98 per epoch")
    p.add_argument("--num-workers", type=non_negative_int, default=0)
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--allow-random-encoders", action="store_true",
                   help="pre-train an Inception image encoder without ImageNet backbone weights (tests only)")
    add_device_args(p)
    p.set_defaults(command="pretrain-damsm")


def run(args: argparse.Namespace) -> int:
    apply_threads(args)
    import torch
    from torch.utils.data import DataLoader
    from tqdm.auto import tqdm

    from ..data import collate_captions, vocabulary_for_config
    from ..ffgan import build_ffgan, parse_overrides, require_damsm_backbone, resolve_config
    from ..train.damsm_pretrain import pretrain_damsm
    from ..train.datasets import build_dataset
    from ..train.device import select_device
    from ..train.rng import seed_everything
    from ..train.vocabulary_check import check_dataset_vocabulary

    if args.steps is None and args.epochs is None:
        raise ValueError("give --steps N and/or --epochs N")
    overrides = parse_overrides(args.overrides)
    if args.data:
        overrides["data.root"] = args.data
    config = resolve_config(args.preset or args.config, overrides)
    if config.image.encoder is None:
        raise ValueError("image.encoder: this config has no image encoder to pre-train (set image.encoder)")
    config = config.with_overrides({"train.recipe": "ffgan"})  # the builder makes the image encoder for this recipe
    require_damsm_backbone(config, allow_random=args.allow_random_encoders)
    device = select_device(args.device)
    seed_everything(args.seed)  # before the model exists: its initial weights come from the seeded RNG
    dataset = build_dataset(config, seed=args.seed)
    vocabulary = vocabulary_for_config(config, dataset=dataset)
    gan = build_ffgan(config, vocabulary=vocabulary)
    check_dataset_vocabulary(gan.text_encoder, dataset)
    if gan.image_encoder is None:
        raise ValueError("image.encoder: this config has no image encoder to pre-train (set image.encoder)")
    text, image = gan.text_encoder.to(device), gan.image_encoder.to(device)
    for module in (text, image):  # unfreeze() keeps a frozen backbone (Inception) frozen
        unfreeze = getattr(module, "unfreeze", None)
        unfreeze() if callable(unfreeze) else module.requires_grad_(True)
    loader = DataLoader(dataset, batch_size=args.batch_size, shuffle=True, drop_last=True,
                        num_workers=args.num_workers, collate_fn=collate_captions,
                        generator=torch.Generator().manual_seed(args.seed))
    if len(loader) == 0:
        items = f"the {len(dataset)} items" if isinstance(dataset, Sized) else "the items"
        raise ValueError(f"--batch-size: {args.batch_size} is more than {items} of the dataset (incomplete batches "
                         "are dropped); give a smaller --batch-size")
    bar = None
    if not args.no_progress:
        bar = tqdm(total=args.steps or args.epochs * len(loader), desc="damsm", unit="step", dynamic_ncols=True)

    def callback(step: int, record: dict) -> None:
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{record['loss']:.3g}", lr=f"{record['lr']:.2g}", refresh=False)

    try:
        history = pretrain_damsm(text, image, loader, epochs=args.epochs, steps=args.steps, lr=args.lr,
                                 out_dir=args.out, device=device, callback=callback, log_every=0)
    finally:
        if bar is not None:
            bar.close()
    if vocabulary is not None:
        print(f"vocabulary: {len(vocabulary.vocabulary)} words from {vocabulary.source}")
    print(f"DAMSM: {len(history.loss)} steps, loss {history.loss[0]:.3f} -> {history.loss[-1]:.3f}; "
          f"encoders in {args.out}")
    return 0
