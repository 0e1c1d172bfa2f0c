"""``fusionblocks convert``: official FF-GAN checkpoints → a fusionblocks checkpoint folder; or the released
AttnGAN/DM-GAN DAMSM encoders alone → safetensors files for training.

With ``--generator``, the result loads with ``fusionblocks sample --checkpoint OUT`` (and ``eval``) when the DAMSM
text encoder and the vocabulary (``captions.pickle``) are given too; without ``--image-encoder`` the run has no image
encoder (``eval``'s DAMSM R-precision then asks for one; the other metrics do not need it). Without ``--generator``,
the DAMSM encoders are converted to ``OUT/text_encoder.safetensors`` / ``OUT/image_encoder.safetensors``
(+ ``OUT/vocabulary.json`` from the pickle), the layout ``fusionblocks pretrain-damsm`` writes, for
``--set text.weights=OUT/text_encoder.safetensors``.
Examples:

    fusionblocks convert --preset cub256 --generator netG_epoch_650.pth --text-encoder text_encoder200.pth \\
        --captions-pickle data/birds/captions.pickle --out runs/ffgan_cub_official
    fusionblocks convert --text-encoder DAMSMencoders/bird/text_encoder200.pth \\
        --image-encoder DAMSMencoders/bird/image_encoder200.pth --captions-pickle data/birds/captions.pickle \\
        --out encoders/bird
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from ._common import plain_text


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert", help="convert official FF-GAN checkpoints", description=plain_text(__doc__),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="cub256", help="the preset the checkpoint was trained with (cub256, coco256)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--generator", help="official netG_epoch_*.pth (omit to convert only the DAMSM encoders)")
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
    if args.generator is None:
        return _convert_encoders(args)
    overrides = parse_overrides(args.overrides)
    if args.text_encoder:
        overrides["text.weights"] = args.text_encoder
    if args.captions_pickle:
        overrides["text.vocabulary"] = args.captions_pickle
    if args.image_encoder:
        overrides["image.weights"] = args.image_encoder
    elif "image.weights" not in overrides:
        # no DAMSM image-encoder weights: no image encoder (a random one would make `eval`'s rprec meaningless)
        overrides.setdefault("image.encoder", None)
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
    if gan.image_encoder is None and config.image.encoder is None and not args.image_encoder:
        print("note: no --image-encoder, so the run has no DAMSM image encoder (eval's rprec needs one)")
    return 0


def _convert_encoders(args: argparse.Namespace) -> int:
    """The DAMSM encoders alone, in the layout of ``pretrain-damsm``'s output."""
    from safetensors.torch import save_file

    from ..image import load_damsm_image_encoder
    from ..text import Vocabulary, load_damsm_text_encoder

    if args.discriminator:
        raise ValueError("--discriminator: needs --generator (a whole official run)")
    if not (args.text_encoder or args.image_encoder):
        raise ValueError("give --generator, or --text-encoder and/or --image-encoder to convert the DAMSM encoders")
    vocabulary = Vocabulary.from_attngan_pickle(args.captions_pickle) if args.captions_pickle else None
    out = Path(args.out)
    written = []
    modules: dict[str, Any] = {}
    if args.text_encoder:
        modules["text_encoder"] = load_damsm_text_encoder(args.text_encoder, vocabulary=vocabulary, max_words=None,
                                                            argument="--text-encoder")
    if args.image_encoder:
        from ..image.damsm_convert import convert_damsm_image_state_dict
        from ..state_dict_io import read_state_dict

        state = convert_damsm_image_state_dict(read_state_dict(args.image_encoder, "--image-encoder"))
        modules["image_encoder"] = state if not any(k.startswith("backbone.") for k in state) else \
            load_damsm_image_encoder(state).state_dict()
    out.mkdir(parents=True, exist_ok=True)
    for name, module in modules.items():
        state = module.state_dict() if hasattr(module, "state_dict") else module
        path = out / f"{name}.safetensors"
        save_file({k: v.detach().contiguous().cpu() for k, v in state.items()}, str(path))
        written.append(path.name)
    if vocabulary is not None:
        vocabulary.save(out / "vocabulary.json")
        written.append("vocabulary.json")
    print(f"DAMSM encoders -> {out}: {', '.join(written)}")
    if "image_encoder" in modules and not any(k.startswith("backbone.") for k in modules["image_encoder"]):
        print("note: the image encoder file holds the projections only; training also needs "
              "--set image.backbone_weights=<ImageNet inception_v3 weights>")
    return 0
