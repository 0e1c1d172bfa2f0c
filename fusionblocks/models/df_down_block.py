"""DF-GAN's discriminator block (``D_Block``; [DF-GAN][ffgan-dfgan])."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_positive_int

__all__ = ["DFDownBlock"]


class DFDownBlock(nn.Module):
    """``avgpool2(shortcut(x)) + γ · r(x)`` with ``r`` = conv4×4 s2 → LReLU(0.2) → conv3×3 → LReLU(0.2) (no bias).

    The shortcut is a 1×1 conv with bias when the widths differ, the identity otherwise; γ is a learnable scalar
    initialised to 0, so the block starts as a pooled shortcut. No normalisation, no spectral norm.

    Args:
        in_channels: Input width.
        out_channels: Output width.
        keep_unused_shortcut: Also build the 1×1 shortcut conv when the widths agree, where it is never used —
            the official code does, which adds 65,792 dead parameters per 256→256 block; only useful to
            load official checkpoints or to reproduce the official parameter count.

    Shapes:
        - x: ``(B, in_channels, H, W)``.
        - output: ``(B, out_channels, H/2, W/2)``.
    """

    def __init__(self, in_channels: int, out_channels: int, keep_unused_shortcut: bool = False) -> None:
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_channels = check_positive_int(out_channels, "out_channels")
        self.learned_shortcut = in_channels != out_channels
        self.conv_r = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2),
            nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False),
            nn.LeakyReLU(0.2),
        )
        build_shortcut = self.learned_shortcut or keep_unused_shortcut
        self.conv_s = nn.Conv2d(in_channels, out_channels, 1) if build_shortcut else None
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Downsample ``x`` by 2; see the class docstring for shapes."""
        residual = self.conv_r(x)
        if self.learned_shortcut and self.conv_s is not None:
            x = self.conv_s(x)
        return F.avg_pool2d(x, 2) + self.gamma * residual
