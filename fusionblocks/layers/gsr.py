"""GSR (Global Semantic Refinement): FF-GAN's per-channel spatial sentence attention
([FF-GAN: refinement stage][ffgan-refinement-stage])."""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn

from .._checks import check_image_features, check_positive_int, check_same_batch, check_sentence
from ..registry import register
from ._example import LayerExample, example_generator

__all__ = ["GSR"]


def _example(batch_size: int) -> LayerExample:
    g = example_generator(4)
    return LayerExample(
        module=GSR(8, 12),
        args=(torch.randn(batch_size, 8, 6, 6, generator=g), torch.randn(batch_size, 12, generator=g)),
        kwargs={"return_attention": True},
        output_shapes=((batch_size, 8, 6, 6), (batch_size, 8, 6, 6)),
    )


@register("layer", "ffgan.gsr", example=_example, paper="arXiv 2302.08706 (FF-GAN)")
class GSR(nn.Module):
    """Sentence attention over spatial positions, one softmax per channel (FF-GAN's ``SentenceAttention``).

    Step 3 of the [FF-GAN refinement stage][ffgan-refinement-stage], with the official normalisation:
    ``s' = W_s s`` (Linear D→C, no bias); ``g_{k,q} = h_{k,q} · s'_k``; ``π_{k,q} = softmax_q(g_{k,q})`` over the
    H·W positions of channel k; ``o_{k,q} = s'_k · π_{k,q}``. Hence ``Σ_q o_{k,q} = s'_k``: with flat attention each
    pixel receives about ``s'_k / (H·W)``, a deliberately faithful (weak) signal.

    Args:
        channels: Image feature channels C.
        sentence_dim: Sentence feature width D.

    Shapes:
        - x: ``(B, C, H, W)``; sentence: ``(B, D)``.
        - output: ``(B, C, H, W)``; with ``return_attention=True`` also π ``(B, C, H, W)`` (sums to 1 over H, W).
    """

    def __init__(self, channels: int, sentence_dim: int) -> None:
        super().__init__()
        self.channels = check_positive_int(channels, "channels")
        self.sentence_dim = check_positive_int(sentence_dim, "sentence_dim")
        self.proj = nn.Linear(sentence_dim, channels, bias=False)

    def forward(
        self, x: torch.Tensor, sentence: torch.Tensor, return_attention: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Compute the sentence-attention features of ``x``; see the class docstring for shapes."""
        x = check_image_features(x, "x", self.channels, like=self)
        sentence = check_sentence(sentence, "sentence", self.sentence_dim, like=self)
        check_same_batch(x=x, sentence=sentence)
        height, width = x.shape[-2:]
        s = self.proj(sentence)  # (B, C)
        logits = rearrange(x, "b c h w -> b c (h w)") * s[:, :, None]
        attn = logits.softmax(dim=-1)
        out = rearrange(s[:, :, None] * attn, "b c (h w) -> b c h w", h=height, w=width)
        if return_attention:
            return out, rearrange(attn, "b c (h w) -> b c h w", h=height, w=width)
        return out

    def extra_repr(self) -> str:
        return f"channels={self.channels}, sentence_dim={self.sentence_dim}"
