"""Tiny-size overrides so that every preset builds and trains on CPU in well under a second per iteration."""

from __future__ import annotations

from typing import Any

import torch

from fusionblocks.train.recipes import TrainBatch

CAPTIONS = [
    "a small red circle",
    "a large blue square above a small green triangle",
    "a green triangle",
    "a big red square left of a blue circle",
]


def tiny_overrides(name: str, size: int = 16) -> dict[str, Any]:
    """Small widths, 16² images, the CaptionedShapes vocabulary and the small CNN image encoder."""
    model: dict[str, Any] = {"image_size": size, "ngf": 8, "ndf": 8, "z_dim": 8, "cond_dim": 4, "res_blocks": 1}
    if name.startswith("dfgan"):
        model["num_stages"] = 1
        if name == "dfgan_ffblock":
            model["ffblock_resolutions"] = [8, 16]
    else:
        model["num_stages"] = 2
    return {
        "model": model,
        "text": {"vocab_size": None, "vocabulary": "captioned_shapes", "embedding_dim": 8, "hidden_dim": 16},
        "image": {"encoder": "image.small_cnn", "kwargs": {"image_size": size, "region_size": 4, "channels": [8, 8]}},
        "train": {"batch_size": 4},
    }


def batch_for(sizes: list[int], batch_size: int = 4, seed: int = 0) -> TrainBatch:
    g = torch.Generator().manual_seed(seed)
    images = [torch.rand(batch_size, 3, s, s, generator=g) * 2 - 1 for s in sizes]
    return TrainBatch(images=images, captions=[CAPTIONS[i % len(CAPTIONS)] for i in range(batch_size)])
