"""Residual block with a GLU (the official ``ResBlock``; [FF-GAN: shared blocks][ffgan-shared-blocks])."""

from __future__ import annotations

import torch
from torch import nn

from .._checks import check_image_features, check_positive_int
from ..registry import register
from ._example import LayerExample, example_generator
from .glu import GLU

__all__ = ["ResBlockGLU"]


def _example(batch_size: int) -> LayerExample:
    g = example_generator(10)
    return LayerExample(
        module=ResBlockGLU(8),
        args=(torch.randn(batch_size, 8, 6, 6, generator=g),),
        output_shapes=((batch_size, 8, 6, 6),),
    )


@register("layer", "common.res_block", example=_example)
class ResBlockGLU(nn.Module):
    """``x + BN(conv3x3(GLU(BN(conv3x3(x)))))`` with convs C→2C and C→C (no bias), no activation after the add.

    ``ResBlockGLU(128)`` has 443,136 parameters, as in the official generator.

    Args:
        channels: Channels C.

    Shapes:
        - x: ``(B, C, H, W)``.
        - output: ``(B, C, H, W)``.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = check_positive_int(channels, "channels")
        self.conv1 = nn.Conv2d(channels, 2 * channels, 3, padding=1, bias=False)
        self.norm1 = nn.BatchNorm2d(2 * channels)
        self.glu = GLU()
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.norm2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Add the residual branch to ``x``; see the class docstring for shapes."""
        x = check_image_features(x, "x", self.channels, like=self)
        return x + self.norm2(self.conv2(self.glu(self.norm1(self.conv1(x)))))
