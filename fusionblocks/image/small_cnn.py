"""A small trainable CNN with the DAMSM image-encoder contract, for tiny presets (32–64 px)."""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_image_features, check_positive_int

__all__ = ["SmallImageEncoder"]


class SmallImageEncoder(nn.Module):
    """Small CNN image encoder: same outputs as
    [`DAMSMImageEncoder`][fusionblocks.image.damsm_inception.DAMSMImageEncoder], fast enough for CPU tests.

    Stages of ``conv3x3 → GroupNorm → LeakyReLU(0.2)``; the first ``log2(image_size / region_size)`` stages
    halve the resolution. Regions are the last stage through a 1×1 conv (no bias); the global code is the
    last stage, average-pooled (``code_pooling="mean"``) or flattened (``"flatten"``), through a Linear. Average
    pooling keeps what the image holds but mostly drops where; flattening keeps each feature's place, so the code
    can tell "red on the left, blue on the right" from the mirror image (relations between objects). Inputs of
    another size are bilinearly resized to ``image_size`` first (like the Inception encoder's resize to 299).
    GroupNorm keeps outputs independent of the other images in the batch.

    Args:
        embed_dim: Width E of region and global features.
        image_size: Input resolution the stages are laid out for (a power-of-two multiple of ``region_size``).
        region_size: Side of the region grid (``h = w = region_size``).
        channels: Channels of each stage; needs at least ``log2(image_size / region_size)`` stages.
        code_pooling: ``"mean"`` (default) or ``"flatten"``: how the last stage becomes the global code.

    Raises:
        ValueError: inconsistent sizes.

    Shapes:
        forward: images ``(B, 3, H, W)`` in ``[-1, 1]`` → regions ``(B, E, region_size, region_size)``,
        code ``(B, E)``.
    """

    def __init__(
        self,
        embed_dim: int = 256,
        image_size: int = 64,
        region_size: int = 8,
        channels: Sequence[int] = (32, 64, 128, 256),
        code_pooling: str = "mean",
    ) -> None:
        super().__init__()
        check_positive_int(embed_dim, "embed_dim")
        check_positive_int(image_size, "image_size")
        check_positive_int(region_size, "region_size")
        ratio = image_size / region_size
        downs = int(round(math.log2(ratio))) if ratio >= 1 else -1
        if downs < 0 or 2**downs * region_size != image_size:
            raise ValueError(
                f"image_size: must be region_size times a power of two, got image_size={image_size}, "
                f"region_size={region_size}"
            )
        channels = list(channels)
        if not channels or any(not isinstance(c, int) or c <= 0 for c in channels):
            raise ValueError(f"channels: expected positive ints, got {channels!r}")
        if len(channels) < downs:
            raise ValueError(
                f"channels: need at least {downs} stages to go from {image_size} to {region_size}, got {len(channels)}"
            )
        if code_pooling not in ("mean", "flatten"):
            raise ValueError(f"code_pooling: expected 'mean' or 'flatten', got {code_pooling!r}")
        self.embed_dim = embed_dim
        self.code_pooling = code_pooling
        self.image_size = image_size
        self.region_size = region_size
        layers: list[nn.Module] = []
        c_in = 3
        for i, c in enumerate(channels):
            layers += [
                nn.Conv2d(c_in, c, 3, stride=2 if i < downs else 1, padding=1),
                nn.GroupNorm(math.gcd(8, c), c),
                nn.LeakyReLU(0.2),
            ]
            c_in = c
        self.features = nn.Sequential(*layers)
        self.region_proj = nn.Conv2d(c_in, embed_dim, kernel_size=1, bias=False)
        self.code_proj = nn.Linear(c_in * (region_size**2 if code_pooling == "flatten" else 1), embed_dim)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode images (see the class docstring).

        Shapes:
            images ``(B, 3, H, W)`` → regions ``(B, E, r, r)``, code ``(B, E)``.
        """
        images = check_image_features(images, "images", channels=3, like=self)
        if images.shape[-2:] != (self.image_size, self.image_size):
            images = F.interpolate(
                images, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False
            )
        h = self.features(images)
        pooled = h.flatten(1) if self.code_pooling == "flatten" else h.mean(dim=(2, 3))
        return self.region_proj(h), self.code_proj(pooled)

    def freeze(self) -> "SmallImageEncoder":
        """Freeze all parameters and stay in eval mode (also after ``.train()``)."""
        self._frozen = True
        self.requires_grad_(False)
        return self.train(False)

    def unfreeze(self) -> "SmallImageEncoder":
        """Undo [`freeze`][fusionblocks.image.small_cnn.SmallImageEncoder.freeze]."""
        self._frozen = False
        self.requires_grad_(True)
        return self

    def train(self, mode: bool = True) -> "SmallImageEncoder":
        """Like ``torch.nn.Module.train``, except that a frozen encoder stays in eval mode."""
        return super().train(False if getattr(self, "_frozen", False) else mode)

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, image_size={self.image_size}, region_size={self.region_size}, "
                f"code_pooling={self.code_pooling!r}")
