"""Upsampling block: nearest ×2 → conv3x3 → BatchNorm → GLU (the official ``upBlock``;
[FF-GAN: shared blocks][ffgan-shared-blocks])."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_image_features, check_positive_int
from ..registry import register
from ._example import LayerExample, example_generator
from .glu import GLU
from .upsample_conv import upsample_nearest_conv3x3

__all__ = ["UpBlock"]


def _example(batch_size: int) -> LayerExample:
    g = example_generator(9)
    return LayerExample(
        module=UpBlock(8, 6),
        args=(torch.randn(batch_size, 8, 4, 4, generator=g),),
        output_shapes=((batch_size, 6, 8, 8),),
    )


@register("layer", "common.up_block", example=_example)
class UpBlock(nn.Module):
    """Double the resolution: ``GLU(BN(conv3x3(upsample_nearest_x2(x))))``.

    The conv (no bias) maps ``in_channels → 2·out_channels``; BatchNorm2d(2·out) uses PyTorch defaults; the GLU
    halves the channels. ``UpBlock(128, 64)`` has 147,712 parameters, as in the official generator.

    By default the upsample + conv pair runs as ``upsample_nearest_conv3x3``
    on the low-resolution input (the same function with 4/9 of the FLOPs; the same parameters, so official
    checkpoints load unchanged). ``fused_upsample=False`` runs the literal interpolate-then-convolve form.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        fused_upsample: Compute the convolution of the upsampled input on the low-resolution input.

    Shapes:
        - x: ``(B, in_channels, H, W)``.
        - output: ``(B, out_channels, 2H, 2W)``.
    """

    def __init__(self, in_channels: int, out_channels: int, fused_upsample: bool = True) -> None:
        super().__init__()
        self.fused_upsample = bool(fused_upsample)
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_channels = check_positive_int(out_channels, "out_channels")
        self.conv = nn.Conv2d(in_channels, 2 * out_channels, 3, padding=1, bias=False)
        self.norm = nn.BatchNorm2d(2 * out_channels)
        self.glu = GLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Upsample ``x`` by 2 and convolve; see the class docstring for shapes."""
        x = check_image_features(x, "x", self.in_channels, like=self)
        if self.fused_upsample:
            h = upsample_nearest_conv3x3(x, self.conv.weight)
        else:
            h = self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))
        return self.glu(self.norm(h))
