"""Build every registered GAN preset/variant and print parameter counts and output shapes.

Run: ``python examples/build_variants.py`` (CPU). The official presets (``cub256``, ``coco256``, ``dfgan``) are built at
full size for their parameter counts; shapes come from a forward pass at small sizes (``--full`` runs the full-size
forward too, which is slow on a CPU). ``ffgan_clip`` needs ``open_clip`` and uses a small CLIP text tower here.
"""

from __future__ import annotations

import argparse

import torch

from fusionblocks import list_components
from fusionblocks.ffgan import build_ffgan, preset_config

SMALL = {
    "model": {"ngf": 8, "ndf": 8, "z_dim": 16, "cond_dim": 8, "res_blocks": 1},
    "text": {"vocab_size": None, "vocabulary": "captioned_shapes", "embedding_dim": 16, "hidden_dim": 32},
    "image": {"encoder": "image.small_cnn", "kwargs": {"channels": [8, 16, 16]}},
}
CAPTIONS = ["a small red circle", "a large blue square above a small green triangle"]


def small_overrides(name: str) -> dict:
    config = preset_config(name)
    overrides = {section: dict(values) for section, values in SMALL.items()}
    size = 16 * 2 ** (config.model.num_stages - 1) if config.model.arch == "stacked" else 32
    overrides["model"]["image_size"] = size
    overrides["image"]["kwargs"] = {**overrides["image"]["kwargs"], "image_size": size, "region_size": size // 8}
    if config.model.ffblock_resolutions:
        overrides["model"]["ffblock_resolutions"] = [16, 32]
    if config.text.encoder == "text.clip":
        overrides["text"] = {"clip_model": "ViT-S-32-alt"}
    return overrides


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true", help="also run the full-size forward (slow on CPU)")
    args = parser.parse_args()
    torch.manual_seed(0)
    for name in list_components("model"):
        config = preset_config(name)
        if config.model.arch in ("stacked", "dfgan") and name in ("cub256", "coco256", "dfgan"):
            full = build_ffgan(name, model={"init": "default"}, image={"encoder": None})
            counts = full.num_parameters()
            print(f"{name:14s} full size: G {counts['generator']:>11,}  Ds {counts['discriminators']:>11,} "
                  f"({len(full.discriminators)} scales)  text {counts['text_encoder']:>10,}")
            if args.full:
                out = full.generate(torch.randint(1, 100, (2, 12)), lengths=torch.tensor([12, 7]))
                print(f"{'':14s} full-size images {[tuple(i.shape) for i in out.images]}")
        try:
            gan = build_ffgan(name, **small_overrides(name))
        except ImportError as exc:  # open_clip missing
            print(f"{name:14s} skipped ({exc})")
            continue
        out = gan.generate(CAPTIONS)
        counts = gan.num_parameters()
        print(f"{name:14s} small: G {counts['generator']:>9,}  Ds {counts['discriminators']:>9,}  "
              f"images {[tuple(i.shape[1:]) for i in out.images]}  attention {[tuple(a.shape[1:]) for a in out.attention]}")


if __name__ == "__main__":
    main()
