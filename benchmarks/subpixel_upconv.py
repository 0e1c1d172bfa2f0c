"""Prototype: ``conv3x3(nearest_upsample_x2(x))`` computed on the low-resolution input (exact, 4/9 of the FLOPs).

After a nearest ×2 upsampling, every output pixel of a 3×3 convolution sees only a 2×2 neighbourhood of the
low-resolution input. For the output phase ``(a, b)`` (row and column parity) the 3×3 kernel rows collapse to two
rows, ``[W0, W1 + W2]`` for ``a = 0`` (input rows ``i − 1, i``) and ``[W0 + W1, W2]`` for ``a = 1`` (rows ``i, i + 1``),
and likewise for the columns. The four phases are four 2×2 convolutions of the low-resolution input (16 taps per
low-resolution pixel instead of 36), interleaved with ``pixel_shuffle``. This is the convolution of
``layers/up_block.py`` (official ``upBlock``): 256² upsampling convs are about a third of an FF-GAN iteration.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["upsample_conv3x3"]


def _collapse(w: torch.Tensor, dim: int, phase: int) -> torch.Tensor:
    a, b, c = w.unbind(dim)
    return torch.stack([a, b + c] if phase == 0 else [a + b, c], dim=dim)


def upsample_conv3x3(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """Equal to ``F.conv2d(F.interpolate(x, scale_factor=2, mode="nearest"), weight, bias, padding=1)``.

    One 2×2 convolution with ``4·O`` output channels (one block per phase) over the input padded by 1; phase
    ``(a, b)`` is its output shifted by ``(a, b)``.

    Shapes:
        - x ``(B, I, H, W)``; weight ``(O, I, 3, 3)``; bias ``(O,)`` or None; output ``(B, O, 2H, 2W)``.
    """
    height, width = x.shape[-2:]
    kernels = [_collapse(_collapse(weight, 2, a), 3, b) for a in (0, 1) for b in (0, 1)]  # 4 × (O, I, 2, 2)
    out_channels = weight.shape[0]
    big = F.conv2d(F.pad(x, (1, 1, 1, 1)), torch.cat(kernels, 0), None if bias is None else bias.repeat(4))
    phases = [
        big[:, i * out_channels : (i + 1) * out_channels, a : a + height, b : b + width]
        for i, (a, b) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1)))
    ]
    out = torch.stack(phases, dim=2)  # (B, O, 4, H, W), phase index = 2a + b
    return F.pixel_shuffle(out.reshape(x.shape[0], out_channels * 4, height, width), 2)
