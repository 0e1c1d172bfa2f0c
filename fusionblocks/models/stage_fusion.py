"""The refinement-stage fusion protocol and its builder.

A *stage fusion* is the text–image fusion at the start of a refinement stage of
[`StackedGenerator`][fusionblocks.models.stacked_generator.StackedGenerator]
(FF-GAN: FF-Block + GSR; AttnGAN: concat of the features and their word context). Any layer registered with kind
``"layer"`` that follows this small protocol can be used by name (``model.stage_fusion`` in the config), including
third-party plugin blocks:

- constructed as ``Block(channels, word_dim, sentence_dim, *, mask_padding, **kwargs)`` (``mask_padding`` is
  always passed: a block without word attention simply ignores it);
- has an integer attribute ``out_channels`` (the residual trunk of the stage runs at that width);
- called as ``block(h, words, mask, sentence, *, return_attention)`` and returns ``(fused, attention)``, where
  ``attention`` is a word-attention map, or ``None`` when the block has none or ``return_attention`` is False.
  The keyword is always passed: training passes ``False`` (no loss reads the maps, so the block may skip
  computing one, e.g. to run ``scaled_dot_product_attention``), sampling ``True``.

Shapes:
    - h: ``(B, channels, H, W)``; words: ``(B, T, word_dim)``; mask: ``(B, T)`` bool (True = real token);
      sentence: ``(B, sentence_dim)``.
    - fused: ``(B, out_channels, H, W)``; attention: ``(B, T, H, W)`` or None.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn

from ..registry import get_registry

__all__ = ["StageFusion", "build_stage_fusion", "check_stage_fusion_output", "call_with_optional_map"]


@runtime_checkable
class StageFusion(Protocol):
    """Structural type of a refinement-stage fusion block (see the module docstring).

    Shapes:
        ``(h (B,C,H,W), words (B,T,Dw), mask (B,T), sentence (B,Ds), *, return_attention)`` →
        ``(fused (B,out_channels,H,W), attention (B,T,H,W) | None)``.
    """

    out_channels: int

    def __call__(
        self,
        h: torch.Tensor,
        words: torch.Tensor,
        mask: torch.Tensor | None,
        sentence: torch.Tensor,
        *,
        return_attention: bool,
    ) -> tuple[torch.Tensor, torch.Tensor | None]: ...


def build_stage_fusion(
    name: str, channels: int, word_dim: int, sentence_dim: int, *, mask_padding: bool = True, **kwargs: Any
) -> nn.Module:
    """Build the registered layer ``name`` as a stage fusion and check that it follows the protocol.

    Args:
        name: A name registered with kind ``"layer"`` (e.g. ``"ffgan.stage_fusion"``, a plugin block).
        channels: Width of the stage's input features ``h``.
        word_dim: Word feature width.
        sentence_dim: Sentence feature width.
        mask_padding: Mask padded words in the block's word attention (passed to every block).
        **kwargs: Extra constructor arguments (``model.stage_fusion_kwargs``).

    Returns:
        The constructed module.

    Raises:
        KeyError: ``name`` is not registered.
        TypeError: the block does not follow the protocol (no integer ``out_channels``, not an ``nn.Module``).
    """
    module = get_registry("layer").create(
        name, channels=channels, word_dim=word_dim, sentence_dim=sentence_dim, mask_padding=mask_padding, **kwargs
    )
    if not isinstance(module, nn.Module):
        raise TypeError(f"stage_fusion: {name!r} built a {type(module).__name__}, expected an nn.Module")
    out_channels = getattr(module, "out_channels", None)
    if isinstance(out_channels, bool) or not isinstance(out_channels, int) or out_channels <= 0:
        raise TypeError(
            f"stage_fusion: {name!r} must expose a positive integer attribute 'out_channels' "
            f"(the width of its fused output), got {out_channels!r}"
        )
    return module


def check_stage_fusion_output(out: Any, name: str, batch: int, out_channels: int, size: tuple[int, int]) -> tuple:
    """Validate what a stage fusion returned; errors name the block.

    Shapes:
        out: ``(fused (B, out_channels, H, W), attention (B, T, H, W) | None)``.
    """
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise TypeError(f"stage_fusion {name}: expected a (fused, attention) pair, got {type(out).__name__}")
    fused, attn = out
    expected = (batch, out_channels, *size)
    if not isinstance(fused, torch.Tensor) or tuple(fused.shape) != expected:
        got = tuple(fused.shape) if isinstance(fused, torch.Tensor) else type(fused).__name__
        raise ValueError(f"stage_fusion {name}: expected fused features of shape {expected}, got {got}")
    if attn is not None and (not isinstance(attn, torch.Tensor) or attn.ndim != 4 or attn.shape[0] != batch):
        got = tuple(attn.shape) if isinstance(attn, torch.Tensor) else type(attn).__name__
        raise ValueError(f"stage_fusion {name}: expected attention (B, T, H, W) or None, got {got}")
    return fused, attn


def call_with_optional_map(
    block: nn.Module, *args: Any, return_attention: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Run a word-attention layer (FFBlock, WordContextAttention, a word-fusion block) as ``(output, map or None)``.

    Such layers return ``output`` alone, or ``(output, map)`` when called with ``return_attention=True``.

    Without the map the layer may take a faster path (``scaled_dot_product_attention``).

    Shapes:
        Those of ``block``; the map is ``(B, T, H, W)`` or None.
    """
    if return_attention:
        out, attention = block(*args, return_attention=True)
        return out, attention
    return block(*args), None
