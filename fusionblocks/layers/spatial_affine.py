"""Spatial affine modulation ("ACM"): the convolution half of the FF-Block
([FF-GAN: refinement stage][ffgan-refinement-stage])."""

from __future__ import annotations

import torch
from torch import nn

from .._checks import check_image_features, check_positive_int, check_same_batch
from ..registry import register
from ._example import LayerExample, example_generator

__all__ = ["SpatialAffine"]


def _example(batch_size: int) -> LayerExample:
    g = example_generator(2)
    return LayerExample(
        module=SpatialAffine(8, cond_channels=6, hidden_channels=10),
        args=(torch.randn(batch_size, 8, 6, 6, generator=g), torch.randn(batch_size, 6, 6, 6, generator=g)),
        output_shapes=((batch_size, 8, 6, 6),),
    )


@register("layer", "ffgan.acm", example=_example, paper="arXiv 2302.08706 (FF-GAN), ManiGAN ACM")
class SpatialAffine(nn.Module):
    """Spatially varying scale and shift predicted from a conditioning map (FF-GAN's ``ACM``).

    Step 2 of the [FF-GAN refinement stage][ffgan-refinement-stage]: ``u = conv3x3(cond)`` (Cc → hidden, no bias),
    ``γ = conv3x3(u)``, ``β = conv3x3(u)`` (hidden → C, no bias) and ``out = x ⊙ γ + β``. There is no
    nonlinearity between ``u`` and ``γ``/``β`` and no normalisation of ``x``.

    Args:
        channels: Channels C of the modulated features ``x``.
        cond_channels: Channels Cc of the conditioning map (default ``channels``; the official code hard-wires
            it to ``GF_DIM``).
        hidden_channels: Width of ``u`` (default ``2 * channels``).

    Shapes:
        - x: ``(B, C, H, W)``.
        - cond: ``(B, Cc, H, W)`` (same B, H, W as ``x``).
        - output: ``(B, C, H, W)``.
    """

    def __init__(self, channels: int, cond_channels: int | None = None, hidden_channels: int | None = None) -> None:
        super().__init__()
        self.channels = check_positive_int(channels, "channels")
        self.cond_channels = check_positive_int(channels if cond_channels is None else cond_channels, "cond_channels")
        self.hidden_channels = check_positive_int(
            2 * channels if hidden_channels is None else hidden_channels, "hidden_channels"
        )
        self.hidden = nn.Conv2d(self.cond_channels, self.hidden_channels, 3, padding=1, bias=False)
        self.gamma = nn.Conv2d(self.hidden_channels, self.channels, 3, padding=1, bias=False)
        self.beta = nn.Conv2d(self.hidden_channels, self.channels, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Modulate ``x`` with scale and shift maps computed from ``cond``; see the class docstring."""
        x = check_image_features(x, "x", self.channels, like=self)
        cond = check_image_features(cond, "cond", self.cond_channels, like=self)
        check_same_batch(x=x, cond=cond)
        if cond.shape[-2:] != x.shape[-2:]:
            raise ValueError(
                f"cond: expected the spatial size of x {tuple(x.shape[-2:])}, got {tuple(cond.shape[-2:])}"
            )
        u = self.hidden(cond)
        return x * self.gamma(u) + self.beta(u)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, cond_channels={self.cond_channels}, hidden_channels={self.hidden_channels}"
