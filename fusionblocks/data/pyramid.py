"""Multi-scale real images ("pyramids") from one resolution, as the multi-stage discriminators need them.

The official FF-GAN loader makes its 64/128 reals by bilinear (PIL, antialiased) downsampling of the 256 crop;
[`pyramid`][fusionblocks.data.pyramid.pyramid] does the same on tensors with
``F.interpolate(mode="bilinear", antialias=True)``, so the scales
are consistent downsamplings of the top image.

Shapes:
    ``pyramid(images (..., 3, H, W), sizes)`` -> list of ``(..., 3, s, s)``, one per size, in the given order.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

from .._checks import check_positive_int

__all__ = ["pyramid", "pyramid_sizes"]


def pyramid_sizes(top: int, num_scales: int) -> list[int]:
    """Sizes ``top / 2**(num_scales-1), ..., top / 2, top`` (smallest first).

    Args:
        top: the largest size; must be divisible by ``2**(num_scales-1)``.
        num_scales: number of levels.
    """
    check_positive_int(top, "top")
    check_positive_int(num_scales, "num_scales")
    factor = 2 ** (num_scales - 1)
    if top % factor:
        raise ValueError(f"top: {top} is not divisible by 2**(num_scales-1) = {factor} (num_scales={num_scales})")
    return [top // 2 ** (num_scales - 1 - k) for k in range(num_scales)]


def pyramid(images: torch.Tensor, sizes: Sequence[int]) -> list[torch.Tensor]:
    """Resize ``images`` to each size (bilinear, antialiased when shrinking); a size equal to the input is returned
    as the input itself.

    Args:
        images: one image (3, H, W) or a batch (B, 3, H, W), float.
        sizes: output sizes (square outputs ``s x s``, or ``(h, w)`` pairs).

    Returns:
        One tensor per size, same leading dimensions and dtype as ``images``.

    Shapes:
        images: (3, H, W) or (B, 3, H, W) -> [(3, s, s) or (B, 3, s, s) for s in sizes].
    """
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images: expected a torch.Tensor, got {type(images).__name__}")
    if images.ndim not in (3, 4) or not images.is_floating_point():
        raise ValueError(
            f"images: expected a float (3, H, W) or (B, 3, H, W) tensor, got {tuple(images.shape)} {images.dtype}"
        )
    if isinstance(sizes, (int, torch.Tensor)) or len(sizes) == 0:
        raise ValueError(f"sizes: expected a non-empty sequence of sizes, got {sizes!r}")
    single = images.ndim == 3
    batch = images[None] if single else images
    out = []
    for s in sizes:
        hw = (s, s) if isinstance(s, int) else tuple(s)
        if len(hw) != 2 or any(isinstance(v, bool) or not isinstance(v, int) or v <= 0 for v in hw):
            raise ValueError(f"sizes: each size must be a positive int or (h, w) pair, got {s!r}")
        if hw == tuple(batch.shape[-2:]):
            out.append(images)
            continue
        r = F.interpolate(batch, size=hw, mode="bilinear", align_corners=False, antialias=True)
        out.append(r[0] if single else r)
    return out
