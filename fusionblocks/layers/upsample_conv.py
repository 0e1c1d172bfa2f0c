"""``conv3x3(upsample_nearest_x2(x))`` computed on the low-resolution input: the same result for 4/9 of the FLOPs.

After a nearest ×2 upsampling, each output pixel of a 3×3 convolution (padding 1) sees only a 2×2 neighbourhood
of the low-resolution input. For output row parity ``a`` the kernel's three rows collapse to two: ``[W0, W1 + W2]``
over input rows ``(i − 1, i)`` when ``a = 0`` and ``[W0 + W1, W2]`` over ``(i, i + 1)`` when ``a = 1``; the columns
likewise. The four output phases are therefore four 2×2 convolutions of the (zero-padded) low-resolution input,
run as one convolution with ``4·O`` output channels and interleaved with ``pixel_shuffle``: 16 multiply-adds per
input pixel and output channel instead of 36 at the upsampled resolution. The padding matches too: the zero border
of the upsampled image is the upsampled zero border of the input.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["upsample_nearest_conv3x3"]

_PHASES = ((0, 0), (0, 1), (1, 0), (1, 1))


def _collapse(weight: torch.Tensor, dim: int, phase: int) -> torch.Tensor:
    first, middle, last = weight.unbind(dim)
    pair = [first, middle + last] if phase == 0 else [first + middle, last]
    return torch.stack(pair, dim=dim)


def upsample_nearest_conv3x3(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """Equal to ``F.conv2d(F.interpolate(x, scale_factor=2, mode="nearest"), weight, bias, padding=1)``.

    Args:
        x: Low-resolution input.
        weight: A 3×3 convolution kernel.
        bias: Optional bias of the convolution.

    Returns:
        The convolution of the nearest-upsampled input (up to floating-point summation order).

    Shapes:
        - x: ``(B, I, H, W)``; weight: ``(O, I, 3, 3)``; bias: ``(O,)`` or None.
        - output: ``(B, O, 2H, 2W)``.
    """
    if weight.ndim != 4 or weight.shape[-2:] != (3, 3):
        raise ValueError(f"weight: expected a (O, I, 3, 3) kernel, got shape {tuple(weight.shape)}")
    if x.ndim != 4 or x.shape[1] != weight.shape[1]:
        raise ValueError(f"x: expected (B, {weight.shape[1]}, H, W), got shape {tuple(x.shape)}")
    batch, _, height, width = x.shape
    out_channels = weight.shape[0]
    kernels = torch.cat([_collapse(_collapse(weight, 2, a), 3, b) for a, b in _PHASES])  # (4·O, I, 2, 2)
    phased = F.conv2d(F.pad(x, (1, 1, 1, 1)), kernels, None if bias is None else bias.repeat(4))  # (B, 4·O, H+1, W+1)
    phased = phased.unflatten(1, (4, out_channels))
    # phase (a, b) of output pixel (2i + a, 2j + b) is the 2×2 window whose top-left corner is padded (i + a, j + b)
    out = torch.stack([phased[:, k, :, a : a + height, b : b + width] for k, (a, b) in enumerate(_PHASES)], dim=2)
    return F.pixel_shuffle(out.reshape(batch, out_channels * 4, height, width), 2)
