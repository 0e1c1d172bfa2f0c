"""Word-context attention: the attention half of the FF-Block ([FF-GAN: refinement stage][ffgan-refinement-stage])."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from .._checks import check_image_features, check_mask, check_positive_int, check_same_batch, check_words
from ..registry import register
from ._example import LayerExample, example_generator

__all__ = ["WordContextAttention"]


def _example(batch_size: int) -> LayerExample:
    g = example_generator(1)
    channels, word_dim, length, size = 8, 12, 5, 6
    mask = torch.ones(batch_size, length, dtype=torch.bool)
    mask[:, 3:] = False  # two padded positions in every caption
    return LayerExample(
        module=WordContextAttention(channels, word_dim),
        args=(
            torch.randn(batch_size, channels, size, size, generator=g),
            torch.randn(batch_size, length, word_dim, generator=g),
            mask,
        ),
        kwargs={"return_attention": True},
        output_shapes=((batch_size, channels, size, size), (batch_size, length, size, size)),
    )


@register("layer", "attngan.word_attention", example=_example, paper="arXiv 2302.08706 (FF-GAN), AttnGAN")
class WordContextAttention(nn.Module):
    """Per-pixel attention over the words: the word-context map of AttnGAN / FF-GAN.

    Step 1 of the [FF-GAN refinement stage][ffgan-refinement-stage]:

    ``e'_t = W_e w_t`` (Linear D→C, no bias); ``a_{q,t} = h_q · e'_t`` (no √d scaling);
    ``β_{q,t} = softmax_t(a_{q,t})``; ``c_q = Σ_t β_{q,t} e'_t``.

    With ``mask_padding=True`` (the default, as in AttnGAN/DM-GAN) logits of padded words are set to −∞ when a
    ``mask`` is given, and their vectors are replaced by zeros first, so padded words get no attention and whatever
    they hold (even NaN or Inf) never reaches the output or its gradients. With
    ``mask_padding=False`` the mask is validated but not applied: that is the official FF-GAN behaviour
    ([padded-word masking][ffgan-masking]), where
    padded word vectors (zeros in the official pipeline, hence logit 0) still take part of the softmax mass.

    Args:
        channels: Image feature channels C (also the projected word width).
        word_dim: Word feature width D.
        mask_padding: Mask padded words out of the softmax when a mask is given.

    Shapes:
        - x: ``(B, C, H, W)`` image features (queries).
        - words: ``(B, T, D)`` word features.
        - mask: ``(B, T)`` bool, True = real token, or None (no masking).
        - output: ``(B, C, H, W)`` word-context features; with ``return_attention=True`` also the attention
          ``(B, T, H, W)`` (softmax over T at every pixel).
    """

    def __init__(self, channels: int, word_dim: int, mask_padding: bool = True) -> None:
        super().__init__()
        self.channels = check_positive_int(channels, "channels")
        self.word_dim = check_positive_int(word_dim, "word_dim")
        self.mask_padding = bool(mask_padding)
        self.proj = nn.Linear(word_dim, channels, bias=False)

    def forward(
        self,
        x: torch.Tensor,
        words: torch.Tensor,
        mask: torch.Tensor | None = None,
        return_attention: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Attend from every pixel of ``x`` over ``words``; see the class docstring for shapes."""
        x = check_image_features(x, "x", self.channels, like=self)
        words = check_words(words, "words", self.word_dim, like=self)
        batch = check_same_batch(x=x, words=words)
        if mask is not None:
            mask = check_mask(mask, "mask", batch, words.shape[1], require_real_token=self.mask_padding, like=self)
        keep = mask if (self.mask_padding and mask is not None) else None
        if keep is not None:  # excluded, not multiplied by 0: NaN/Inf in a padded slot would survive 0 * NaN
            words = words.masked_fill(~rearrange(keep, "b t -> b t 1"), 0.0)

        height, width = x.shape[-2:]
        keys = self.proj(words)  # (B, T, C): keys and values
        dtype = torch.promote_types(x.dtype, keys.dtype)  # autocast may return low-precision keys
        keys = keys.to(dtype)
        query = rearrange(x, "b c h w -> b (h w) c").to(dtype)

        if not return_attention:
            attn_mask = None if keep is None else rearrange(keep, "b t -> b 1 t")
            context = F.scaled_dot_product_attention(query, keys, keys, attn_mask=attn_mask, scale=1.0)
            return rearrange(context, "b (h w) c -> b c h w", h=height, w=width)

        logits = torch.einsum("bqc,btc->bqt", query, keys)
        if keep is not None:
            logits = logits.masked_fill(~rearrange(keep, "b t -> b 1 t"), float("-inf"))
        attn = logits.softmax(dim=-1)
        context = torch.einsum("bqt,btc->bqc", attn, keys)
        return (
            rearrange(context, "b (h w) c -> b c h w", h=height, w=width),
            rearrange(attn, "b (h w) t -> b t h w", h=height, w=width),
        )

    def extra_repr(self) -> str:
        return f"channels={self.channels}, word_dim={self.word_dim}, mask_padding={self.mask_padding}"
