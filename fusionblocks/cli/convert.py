"""``fusionblocks convert``: official FF-GAN checkpoints → a fusionblocks checkpoint folder.

The result loads with ``fusionblocks sample --checkpoint OUT`` (and ``eval``) when the DAMSM text encoder and the
vocabulary (``captions.pickle``) are given too. Example::

    fusionblocks convert --preset cub256 --generator netG_epoch_650.pth --text-encoder text_encoder200.pth \\
        --captions-pickle data/birds/captions.pickle --out runs/ffgan_cub_official
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert", help="convert official FF-GAN checkpoints", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="cub256", help="the preset the checkpoint was trained with (cub256, coco256)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--generator", required=True, help="official netG_epoch_*.pth")
    p.add_argument("--discriminator", action="append", default=[], help="official netD{i}.pth, smallest scale first")
    p.add_argument("--text-encoder", help="official DAMSM text_encoder*.pth")
    p.add_argument("--image-encoder", help="official DAMSM image_encoder*.pth")
    p.add_argument("--captions-pickle", help="AttnGAN captions.pickle (the vocabulary)")
    p.add_argument("--out", required=True, help="output run folder")
    p.set_defaults(command="convert")


def run(args: argparse.Namespace) -> int:
    from safetensors.torch import save_file

    from ..ffgan import build_ffgan, load_official, parse_overrides, resolve_config
    from ..train.checkpoint import save_checkpoint
    from ..train.trainer import config_to_dict

    for flag in ("generator", "text_encoder", "image_encoder", "captions_pickle", *[]):
        value = getattr(args, flag)
        if value is not None and not Path(value).is_file():
            raise FileNotFoundError(f"--{flag.replace('_', '-')}: {value} does not exist")
    for value in args.discriminator:
        if not Path(value).is_file():
            raise FileNotFoundError(f"--discriminator: {value} does not exist")
    overrides = parse_overrides(args.overrides)
    if args.text_encoder:
        overrides["text.weights"] = args.text_encoder
    if args.captions_pickle:
        overrides["text.vocabulary"] = args.captions_pickle
    if args.image_encoder:
        overrides["image.weights"] = args.image_encoder
    config = resolve_config(args.preset, overrides)
    out = Path(args.out)
    generator_sd = load_official(args.generator, "generator")
    if not args.text_encoder:
        out.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in generator_sd.items()}, str(out / "generator.safetensors"))
        config.to_yaml(out / "config.yaml")
        print(f"generator -> {out / 'generator.safetensors'} (give --text-encoder and --captions-pickle for a "
              "checkpoint that `fusionblocks sample` can use)")
        return 0
    gan = build_ffgan(config)
    gan.generator.load_state_dict(generator_sd)
    if args.discriminator:
        if len(args.discriminator) != len(gan.discriminators):
            raise ValueError(f"--discriminator: expected {len(gan.discriminators)} files (one per scale), "
                             f"got {len(args.discriminator)}")
        for d, path in zip(gan.discriminators, args.discriminator):
            d.load_state_dict(load_official(path, "discriminator"))
    match = re.search(r"(\d+)", Path(args.generator).stem)
    tensors = {
        "generator": gan.generator.state_dict(),
        "generator_ema": gan.generator.state_dict(),  # the official snapshots hold the EMA weights
        "discriminators": gan.discriminators.state_dict(),
        "text_encoder": gan.text_encoder.state_dict(),
    }
    if gan.image_encoder is not None:
        tensors["image_encoder"] = gan.image_encoder.state_dict()
    vocab = getattr(gan.text_encoder, "vocabulary", None)
    state = {
        "step": 0, "epoch": int(match.group(1)) if match else 0, "source": "official",
        "files": {"generator": args.generator, "discriminators": args.discriminator, "text_encoder": args.text_encoder},
        "vocabulary": list(vocab.itos) if vocab is not None else None,
    }
    path = save_checkpoint(out, 0, tensors=tensors, state=state, config=config_to_dict(config))
    print(f"converted -> {path}")
    return 0
