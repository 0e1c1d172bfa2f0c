"""The initial stage of the multi-stage generator: ``[c ; z]`` → 4×4 → upsampling
([FF-GAN: initial stage][ffgan-initial-stage])."""

from __future__ import annotations

import math

import torch
from torch import nn

from .._checks import check_positive_int
from ..layers import GLU, UpBlock

__all__ = ["InitStage"]


def _log2_exact(value: int, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum or value & (value - 1):
        raise ValueError(f"{name}: expected a power of two >= {minimum}, got {value!r}")
    return int(math.log2(value))


class InitStage(nn.Module):
    """``Linear(in_dim → 4·4·2·C₄, no bias) → BatchNorm1d → GLU → view (C₄, 4, 4) → n × UpBlock`` (halving widths).

    With ``out_size = 64`` and ``channels = ngf`` this is the official ``INIT_STAGE_G(16·ngf)``: ``C₄ = 16·ngf`` and
    four upsampling blocks 1024→512→256→128→64; in general ``n = log2(out_size / 4)`` and
    ``C₄ = channels · 2ⁿ``.

    Args:
        in_dim: Width of the input code ``[c ; z]``.
        channels: Output channels (ngf).
        out_size: Output resolution (a power of two >= 8).

    Shapes:
        - code: ``(B, in_dim)``.
        - output: ``(B, channels, out_size, out_size)``.
    """

    def __init__(self, in_dim: int, channels: int, out_size: int = 64) -> None:
        super().__init__()
        self.in_dim = check_positive_int(in_dim, "in_dim")
        self.channels = check_positive_int(channels, "channels")
        n_up = _log2_exact(out_size, "out_size", 8) - 2
        self.out_size = out_size
        self.start_channels = channels * 2**n_up
        self.fc = nn.Linear(in_dim, self.start_channels * 4 * 4 * 2, bias=False)
        self.norm = nn.BatchNorm1d(self.start_channels * 4 * 4 * 2)
        self.glu = GLU()
        widths = [self.start_channels // 2**i for i in range(n_up + 1)]
        self.ups = nn.ModuleList(UpBlock(a, b) for a, b in zip(widths[:-1], widths[1:]))

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        """Map the code to ``(B, channels, out_size, out_size)`` features."""
        if code.ndim != 2 or code.shape[1] != self.in_dim:
            raise ValueError(f"code: expected (B, {self.in_dim}), got shape {tuple(code.shape)}")
        h = self.glu(self.norm(self.fc(code))).view(code.shape[0], self.start_channels, 4, 4)
        for up in self.ups:
            h = up(h)
        return h
