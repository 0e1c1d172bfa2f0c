"""AttnGAN's refinement-stage fusion: ``[h ; word context of h]`` ([the family side by side][ffgan-family])."""

from __future__ import annotations

import torch
from torch import nn

from ..layers import LayerExample, WordContextAttention
from ..layers._example import example_generator
from ..registry import register
from .stage_fusion import call_with_optional_map

__all__ = ["AttnGANStageFusion"]


def _example(batch_size: int) -> LayerExample:
    g = example_generator(22)
    mask = torch.ones(batch_size, 5, dtype=torch.bool)
    mask[:, 4:] = False
    return LayerExample(
        module=AttnGANStageFusion(8, 12, 10),
        args=(
            torch.randn(batch_size, 8, 6, 6, generator=g),
            torch.randn(batch_size, 5, 12, generator=g),
            mask,
            None,  # AttnGAN's stages ignore the sentence
        ),
        output_shapes=((batch_size, 16, 6, 6), (batch_size, 5, 6, 6)),
    )


@register("layer", "attngan.stage_fusion", example=_example, paper="AttnGAN, arXiv 1711.10485")
class AttnGANStageFusion(nn.Module):
    """AttnGAN's ``GlobalAttentionGeneral`` stage fusion: the word context concatenated to the features.

    ``c = WordContextAttention(h, words, mask)`` (softmax over words, padded words masked by default);
    output ``[h ; c]``. The sentence is not used (AttnGAN's refinement stages ignore it); it is accepted to
    follow the stage-fusion protocol of ``fusionblocks.models.stage_fusion`` (None is accepted too).

    Args:
        channels: Width C of the stage input ``h``.
        word_dim: Word feature width.
        sentence_dim: Sentence feature width (unused).
        mask_padding: Mask padded words (AttnGAN does).

    Shapes:
        - h: ``(B, C, H, W)``; words: ``(B, T, word_dim)``; mask: ``(B, T)`` bool or None;
          sentence: ``(B, sentence_dim)`` or None (ignored).
        - output: ``(fused (B, 2C, H, W), attention (B, T, H, W))`` (attention None with ``return_attention=False``).
    """

    def __init__(self, channels: int, word_dim: int, sentence_dim: int, mask_padding: bool = True) -> None:
        super().__init__()
        self.attention = WordContextAttention(channels, word_dim, mask_padding=mask_padding)
        self.channels = channels
        self.sentence_dim = sentence_dim
        self.out_channels = 2 * channels

    def forward(
        self,
        h: torch.Tensor,
        words: torch.Tensor,
        mask: torch.Tensor | None,
        sentence: torch.Tensor | None = None,
        return_attention: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Concatenate ``h`` with its word context; see the class docstring for shapes.

        ``return_attention=False`` returns ``None`` for the map, which lets the word attention take its SDPA path.
        """
        context, attn = call_with_optional_map(self.attention, h, words, mask, return_attention=return_attention)
        return torch.cat([h, context], dim=1), attn
