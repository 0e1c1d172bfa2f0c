"""DF-GAN's generator block ("UPBlock" / ``G_Block``; [DF-GAN][ffgan-dfgan])."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_positive_int
from ..layers import DFBlock

__all__ = ["DFUpBlock"]


class DFUpBlock(nn.Module):
    """Nearest ×2 upsample, then ``shortcut(x) + c2(fuse2(c1(fuse1(x, y)), y))``.

    ``fuse1``/``fuse2`` are [`DFBlock`][fusionblocks.layers.df_block.DFBlock] (affine → LReLU → affine → LReLU); ``c1``
    (in → out) and ``c2`` (out → out) are conv3×3 with bias; the shortcut is a 1×1 conv (with bias) when the widths
    differ, the identity otherwise. ``DFUpBlock(256, 256, 356)`` has 2,437,632 parameters, as the official ``G_Block``.

    Args:
        in_channels: Input width.
        out_channels: Output width.
        cond_dim: Condition width (DF-GAN: ``z_dim + sentence_dim``).
        upsample: Double the resolution first (DF-GAN 2022: always).

    Shapes:
        - x: ``(B, in_channels, H, W)``; cond: ``(B, cond_dim)``.
        - output: ``(B, out_channels, 2H, 2W)`` (``(B, out_channels, H, W)`` without upsampling).
    """

    def __init__(self, in_channels: int, out_channels: int, cond_dim: int, upsample: bool = True) -> None:
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_channels = check_positive_int(out_channels, "out_channels")
        self.upsample = bool(upsample)
        self.fuse1 = DFBlock(in_channels, cond_dim)
        self.c1 = nn.Conv2d(in_channels, out_channels, 3, 1, 1)
        self.fuse2 = DFBlock(out_channels, cond_dim)
        self.c2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1)
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else None

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Upsample and fuse the condition into ``x``; see the class docstring for shapes."""
        if self.upsample:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        residual = self.c2(self.fuse2(self.c1(self.fuse1(x, cond)), cond))
        shortcut = x if self.shortcut is None else self.shortcut(x)
        return shortcut + residual
