"""The FF-Block: word-context attention followed by spatial affine modulation
([FF-GAN: which code is the FF-Block][ffgan-ffblock-and-gsr])."""

from __future__ import annotations

import torch
from torch import nn

from .._checks import check_positive_int
from ..registry import register
from ._example import LayerExample, example_generator
from .spatial_affine import SpatialAffine
from .word_attention import WordContextAttention

__all__ = ["FFBlock"]


def _example(batch_size: int) -> LayerExample:
    g = example_generator(3)
    mask = torch.ones(batch_size, 5, dtype=torch.bool)
    mask[:, 4:] = False
    return LayerExample(
        module=FFBlock(8, 12, hidden_channels=10),
        args=(torch.randn(batch_size, 8, 6, 6, generator=g), torch.randn(batch_size, 5, 12, generator=g), mask),
        kwargs={"return_attention": True},
        output_shapes=((batch_size, 8, 6, 6), (batch_size, 5, 6, 6)),
    )


@register("layer", "ffgan.ffblock", example=_example, paper="arXiv 2302.08706 (FF-GAN)")
class FFBlock(nn.Module):
    """FF-GAN's fine-grained fusion block: ``out = SpatialAffine(x, WordContextAttention(x, words, mask))``.

    Steps 1–2 of the [FF-GAN refinement stage][ffgan-refinement-stage]: the word-context map
    ``c_w`` of every pixel predicts a spatial scale ``γ`` and shift ``β`` applied to ``x``.

    Args:
        channels: Image feature channels C.
        word_dim: Word feature width D.
        mask_padding: Mask padded words (True, default). ``False`` reproduces the official FF-GAN
            ([padded-word masking][ffgan-masking]).
        hidden_channels: Hidden width of the affine convs (default ``2 * channels``).

    Shapes:
        - x: ``(B, C, H, W)``; words: ``(B, T, D)``; mask: ``(B, T)`` bool (True = real) or None.
        - output: ``(B, C, H, W)``; with ``return_attention=True`` also the word attention ``(B, T, H, W)``.
    """

    def __init__(
        self, channels: int, word_dim: int, mask_padding: bool = True, hidden_channels: int | None = None
    ) -> None:
        super().__init__()
        self.channels = check_positive_int(channels, "channels")
        self.attention = WordContextAttention(channels, word_dim, mask_padding=mask_padding)
        self.affine = SpatialAffine(channels, cond_channels=channels, hidden_channels=hidden_channels)

    def forward(
        self,
        x: torch.Tensor,
        words: torch.Tensor,
        mask: torch.Tensor | None = None,
        return_attention: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Fuse word context into ``x``; see the class docstring for shapes."""
        if return_attention:
            context, attn = self.attention(x, words, mask, return_attention=True)
            return self.affine(x, context), attn
        return self.affine(x, self.attention(x, words, mask))
