"""DF-GAN's deep fusion block: affine → LeakyReLU → affine → LeakyReLU (``DFBLK``; [DF-GAN][ffgan-dfgan])."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import register
from ._example import LayerExample, example_generator
from .df_affine import DFAffine

__all__ = ["DFBlock"]


def _example(batch_size: int) -> LayerExample:
    g = example_generator(6)
    module = DFBlock(8, 12)
    with torch.no_grad():  # leave the identity init so that every parameter gets a non-trivial gradient
        for p in module.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=g))
    return LayerExample(
        module=module,
        args=(torch.randn(batch_size, 8, 6, 6, generator=g), torch.randn(batch_size, 12, generator=g)),
        output_shapes=((batch_size, 8, 6, 6),),
    )


@register("layer", "dfgan.dfblock", example=_example, paper="DF-GAN (CVPR 2022)")
class DFBlock(nn.Module):
    """``LReLU(affine1(LReLU(affine0(x, y)), y))`` with slope 0.2 (``DFBLK``).

    Args:
        channels: Feature channels C.
        cond_dim: Width of the condition vector y.

    Shapes:
        - x: ``(B, C, H, W)``; cond: ``(B, cond_dim)``.
        - output: ``(B, C, H, W)``.
    """

    negative_slope: float = 0.2

    def __init__(self, channels: int, cond_dim: int) -> None:
        super().__init__()
        self.affine0 = DFAffine(channels, cond_dim)
        self.affine1 = DFAffine(channels, cond_dim)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Apply the two conditioned affines with LeakyReLU(0.2) after each; see the class docstring."""
        h = F.leaky_relu(self.affine0(x, cond), self.negative_slope)
        return F.leaky_relu(self.affine1(h, cond), self.negative_slope)
