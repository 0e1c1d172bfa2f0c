"""A refinement stage of the multi-stage generator: fusion → residual trunk → upsampling
([FF-GAN: refinement stage][ffgan-refinement-stage])."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .._checks import check_positive_int
from ..layers import ResBlockGLU, UpBlock
from .stage_fusion import check_stage_fusion_output

__all__ = ["RefinementStage"]


class RefinementStage(nn.Module):
    """``fusion(h, words, mask, s) → R × ResBlockGLU(out) → UpBlock(out → channels)``.

    Args:
        channels: Width of the stage input and output (ngf).
        fusion: A stage-fusion module (see ``fusionblocks.models.stage_fusion``) with ``out_channels``.
        res_blocks: Number of residual blocks (official ``R_NUM``: 2 CUB, 3 COCO).
        fusion_name: Name used in error messages.

    Shapes:
        - h: ``(B, channels, H, W)``; words: ``(B, T, Dw)``; mask: ``(B, T)`` or None; sentence: ``(B, Ds)``.
        - output: ``(h' (B, channels, 2H, 2W), attention (B, T, H, W) or None)`` (None with
          ``return_attention=False``).
    """

    def __init__(self, channels: int, fusion: nn.Module, res_blocks: int = 2, fusion_name: str = "fusion") -> None:
        super().__init__()
        self.channels = check_positive_int(channels, "channels")
        if isinstance(res_blocks, bool) or not isinstance(res_blocks, int) or res_blocks < 0:
            raise ValueError(f"res_blocks: expected a non-negative integer, got {res_blocks!r}")
        self.fusion = fusion
        self.fusion_name = fusion_name
        protocol: Any = fusion  # the stage-fusion protocol: an integer out_channels
        width = int(protocol.out_channels)
        self.fusion_channels = width
        self.residual = nn.Sequential(*(ResBlockGLU(width) for _ in range(res_blocks)))
        self.upsample = UpBlock(width, channels)

    def forward(
        self,
        h: torch.Tensor,
        words: torch.Tensor,
        mask: torch.Tensor | None,
        sentence: torch.Tensor,
        return_attention: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Refine and upsample ``h``; see the class docstring for shapes.

        The fusion is told ``return_attention`` (the stage-fusion protocol's keyword); with False no map is
        returned (FF-GAN's and AttnGAN's fusions then run SDPA attention).
        """
        result = self.fusion(h, words, mask, sentence, return_attention=return_attention)
        fused, attn = check_stage_fusion_output(
            result,
            self.fusion_name,
            h.shape[0],
            self.fusion_channels,
            (int(h.shape[-2]), int(h.shape[-1])),
        )
        return self.upsample(self.residual(fused)), (attn if return_attention else None)
