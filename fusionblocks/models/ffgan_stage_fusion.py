"""FF-GAN's refinement-stage fusion: ``[FFBlock(h, words) ; GSR(h, sentence)]``
([FF-GAN: refinement stage][ffgan-refinement-stage])."""

from __future__ import annotations

import torch
from torch import nn

from ..layers import GSR, FFBlock, LayerExample
from ..layers._example import example_generator
from ..registry import register
from .stage_fusion import call_with_optional_map

__all__ = ["FFGANStageFusion"]


def _example(batch_size: int) -> LayerExample:
    g = example_generator(21)
    mask = torch.ones(batch_size, 5, dtype=torch.bool)
    mask[:, 3:] = False
    return LayerExample(
        module=FFGANStageFusion(8, 12, 10),
        args=(
            torch.randn(batch_size, 8, 6, 6, generator=g),
            torch.randn(batch_size, 5, 12, generator=g),
            mask,
            torch.randn(batch_size, 10, generator=g),
        ),
        output_shapes=((batch_size, 16, 6, 6), (batch_size, 5, 6, 6)),
    )


@register("layer", "ffgan.stage_fusion", example=_example, paper="arXiv 2302.08706 (FF-GAN)")
class FFGANStageFusion(nn.Module):
    """FF-Block (word attention → spatial affine) concatenated with GSR (sentence attention): ``2·channels`` out.

    Steps 1–4 of the [FF-GAN refinement stage][ffgan-refinement-stage]: ``c_w, β = WordAttention(h, w)``;
    ``h_f = h ⊙ γ(c_w) + β(c_w)``;
    ``o = GSR(h, s)`` on the raw sentence embedding; output ``[h_f ; o]``. Follows the stage-fusion protocol of
    ``fusionblocks.models.stage_fusion``.

    Args:
        channels: Width C of the stage input ``h`` (ngf).
        word_dim: Word feature width.
        sentence_dim: Sentence feature width.
        mask_padding: Mask padded words in the attention (False reproduces the official FF-GAN,
            [padded-word masking][ffgan-masking]).
        hidden_channels: Hidden width of the affine convs (official: 128 = 2·ngf; default ``2 * channels``).
        word_attention: Ablation switch (default True, the paper's model). False feeds the FF-Block the sentence
            vector as its only "word", so the attention is trivial (one key) and the affine modulation is the same
            for every position: sentence-only conditioning with the FF-Block's structure. The block is then built
            for ``sentence_dim``, the words are not used and no attention map is returned.
        gsr: Ablation switch (default True). False replaces the GSR branch by the identity, ``[h_f ; h]``, so the
            width stays ``2·channels``.

    Shapes:
        - h: ``(B, C, H, W)``; words: ``(B, T, word_dim)``; mask: ``(B, T)`` bool or None;
          sentence: ``(B, sentence_dim)``.
        - output: ``(fused (B, 2C, H, W), attention (B, T, H, W))`` (attention None with ``return_attention=False``).
    """

    def __init__(
        self,
        channels: int,
        word_dim: int,
        sentence_dim: int,
        mask_padding: bool = True,
        hidden_channels: int | None = None,
        word_attention: bool = True,
        gsr: bool = True,
    ) -> None:
        super().__init__()
        for name, value in (("word_attention", word_attention), ("gsr", gsr)):
            if not isinstance(value, bool):
                raise TypeError(f"{name}: expected a bool, got {type(value).__name__}")
        self.word_attention = word_attention
        self.ffblock = FFBlock(channels, word_dim if word_attention else sentence_dim, mask_padding=mask_padding,
                               hidden_channels=hidden_channels)
        self.gsr = GSR(channels, sentence_dim) if gsr else None
        self.channels = channels
        self.out_channels = 2 * channels

    def forward(
        self,
        h: torch.Tensor,
        words: torch.Tensor,
        mask: torch.Tensor | None,
        sentence: torch.Tensor,
        return_attention: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Fuse words and sentence into ``h``; see the class docstring for shapes.

        ``return_attention=False`` returns ``None`` for the map, which lets the word attention take its SDPA path.
        """
        if self.word_attention:
            fused, attn = call_with_optional_map(self.ffblock, h, words, mask, return_attention=return_attention)
        else:  # the sentence as the only key: attention weight 1 everywhere, no word-level information
            fused, attn = call_with_optional_map(self.ffblock, h, sentence[:, None, :], None, return_attention=False)
        second = self.gsr(h, sentence) if self.gsr is not None else h
        return torch.cat([fused, second], dim=1), attn
