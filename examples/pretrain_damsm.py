"""(Re)train DAMSM text and image encoders.

Without ``--data-dir`` this runs a few CPU steps on generated CaptionedShapes with the small CNN image encoder:

    python examples/pretrain_damsm.py --steps 20 --out runs/damsm-shapes

On an AttnGAN-format dataset (``captions.pickle`` + images) with the Inception encoder, as in AttnGAN/DM-GAN:

    python examples/pretrain_damsm.py --data-dir data/birds --encoder inception \
        --backbone-weights inception_v3_google.pth --epochs 200 --batch-size 48 --out runs/damsm-cub

The output directory receives ``text_encoder.safetensors``, ``image_encoder.safetensors``, ``vocabulary.json`` and
``history.json``; load them with ``DAMSMTextEncoder(...).load_state_dict(safetensors.torch.load_file(...))`` or
``DAMSMImageEncoder(weights=".../image_encoder.safetensors")``.
"""

from __future__ import annotations

import argparse
import logging

import torch
from torch.utils.data import DataLoader

from fusionblocks.data import CaptionedShapes, collate_captions, shapes_vocabulary
from fusionblocks.image import DAMSMImageEncoder, SmallImageEncoder
from fusionblocks.text import DAMSMTextEncoder
from fusionblocks.train.damsm_pretrain import pretrain_damsm


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", help="AttnGAN-format dataset (captions.pickle, images); default: generated shapes")
    p.add_argument("--encoder", choices=("small", "inception"), default=None,
                   help="image encoder (default: small for shapes, inception for --data-dir)")
    p.add_argument("--backbone-weights", help="local ImageNet Inception-v3 weights (timm or torchvision names)")
    p.add_argument("--allow-random-encoders", action="store_true",
                   help="allow the Inception encoder without --backbone-weights (tests only: it stays random)")
    p.add_argument("--image-size", type=int, default=None, help="training resolution (default 32 shapes / 299)")
    p.add_argument("--embed-dim", type=int, default=None, help="DAMSM embedding width (default 64 small / 256)")
    p.add_argument("--max-words", type=int, default=18)
    p.add_argument("--steps", type=int, default=None, help="optimiser steps (default 20 when --epochs is unset)")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--lr", type=float, default=0.002)
    p.add_argument("--num-images", type=int, default=256, help="generated shapes images")
    p.add_argument("--num-workers", type=int, default=0)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--log-every", type=int, default=5)
    p.add_argument("--out", default="runs/damsm", help="output directory")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.manual_seed(args.seed)
    encoder_kind = args.encoder or ("inception" if args.data_dir else "small")
    if encoder_kind == "inception" and not args.backbone_weights and not args.allow_random_encoders:
        raise SystemExit(
            "--backbone-weights: the Inception encoder's backbone stays frozen during DAMSM pre-training, so it needs "
            "ImageNet Inception-v3 weights from a local file (torchvision inception_v3_google-*.pth or a timm "
            "checkpoint); --allow-random-encoders only for tests"
        )
    image_size = args.image_size or (299 if encoder_kind == "inception" else 32)
    embed_dim = args.embed_dim or (256 if encoder_kind == "inception" else 64)
    if args.data_dir:
        from fusionblocks.data import AttnGANDataset

        # the dataset decides the vocabulary: captions.pickle, captions_DAMSM.pickle, or one built from text/
        dataset = AttnGANDataset(args.data_dir, split="train", base_size=image_size, num_scales=1,
                                 max_words=args.max_words, seed=args.seed)
        vocabulary = dataset.vocabulary
    else:
        vocabulary = shapes_vocabulary()
        dataset = CaptionedShapes(size=args.num_images, resolution=image_size, seed=args.seed,
                                  vocabulary=vocabulary, max_words=args.max_words)
    loader = DataLoader(dataset, batch_size=args.batch_size, shuffle=True, drop_last=True,
                        num_workers=args.num_workers, collate_fn=collate_captions,
                        generator=torch.Generator().manual_seed(args.seed))
    text = DAMSMTextEncoder(vocabulary=vocabulary, hidden_dim=embed_dim, max_words=args.max_words)
    if encoder_kind == "inception":
        image = DAMSMImageEncoder(embed_dim=embed_dim, backbone_weights=args.backbone_weights)
    else:
        image = SmallImageEncoder(embed_dim=embed_dim, image_size=image_size)
    text.to(args.device)
    image.to(args.device)
    steps = args.steps if args.steps is not None or args.epochs is not None else 20

    def report(step: int, record: dict[str, float]) -> None:
        if step % args.log_every == 0 or step == 1:
            print(f"step {step:5d}  lr {record['lr']:.2e}  loss {record['loss']:.4f}  "
                  f"(w0 {record['word0']:.3f} w1 {record['word1']:.3f} s0 {record['sent0']:.3f} "
                  f"s1 {record['sent1']:.3f})", flush=True)

    history = pretrain_damsm(text, image, loader, epochs=args.epochs, steps=steps, lr=args.lr,
                             out_dir=args.out, device=args.device, callback=report, log_every=0)
    n = max(1, min(5, len(history.loss) // 2))
    print(f"done: {len(history.loss)} steps; mean loss first {n}: {sum(history.loss[:n]) / n:.4f}, "
          f"last {n}: {sum(history.loss[-n:]) / n:.4f}; saved to {args.out}")


if __name__ == "__main__":
    main()
