"""Gated linear unit over channels ([FF-GAN: shared blocks][ffgan-shared-blocks])."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_tensor
from ..registry import register
from ._example import LayerExample, example_generator

__all__ = ["GLU"]


def _example(batch_size: int) -> LayerExample:
    g = example_generator(8)
    return LayerExample(
        module=GLU(), args=(torch.randn(batch_size, 8, 4, 4, generator=g),), output_shapes=((batch_size, 4, 4, 4),)
    )


@register("layer", "common.glu", example=_example)
class GLU(nn.Module):
    """Split the channels (dim 1) into halves ``[a, b]`` and return ``a ⊙ sigmoid(b)``.

    Shapes:
        - x: ``(B, 2C, *)`` (any trailing dimensions, an even channel count).
        - output: ``(B, C, *)``.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Gate the first half of the channels with the sigmoid of the second half."""
        x = check_tensor(x, "x")
        if x.ndim < 2 or x.shape[1] % 2:
            raise ValueError(
                f"x: expected (B, 2C, ...) with an even channel count on dim 1, got shape {tuple(x.shape)}"
            )
        return F.glu(x, dim=1)  # one fused kernel each way (the split, sigmoid and product: three passes)
