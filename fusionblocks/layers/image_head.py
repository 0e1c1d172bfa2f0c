"""Image head: conv3x3 → tanh (the official ``GET_IMAGE_G``; [FF-GAN: shared blocks][ffgan-shared-blocks])."""

from __future__ import annotations

import torch
from torch import nn

from .._checks import check_image_features, check_positive_int
from ..registry import register
from ._example import LayerExample, example_generator

__all__ = ["ImageHead"]


def _example(batch_size: int) -> LayerExample:
    g = example_generator(11)
    return LayerExample(
        module=ImageHead(8),
        args=(torch.randn(batch_size, 8, 6, 6, generator=g),),
        output_shapes=((batch_size, 3, 6, 6),),
    )


@register("layer", "common.image_head", example=_example)
class ImageHead(nn.Module):
    """``tanh(conv3x3(x))`` with no bias: features to an image in ``[-1, 1]``.

    Args:
        channels: Input channels.
        out_channels: Image channels (3 for RGB).

    Shapes:
        - x: ``(B, channels, H, W)``.
        - output: ``(B, out_channels, H, W)`` in ``[-1, 1]``.
    """

    def __init__(self, channels: int, out_channels: int = 3) -> None:
        super().__init__()
        self.channels = check_positive_int(channels, "channels")
        self.out_channels = check_positive_int(out_channels, "out_channels")
        self.conv = nn.Conv2d(channels, out_channels, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map features to an image; see the class docstring for shapes."""
        x = check_image_features(x, "x", self.channels, like=self)
        return torch.tanh(self.conv(x))
