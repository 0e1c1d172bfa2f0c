"""Interim demo: one FF-GAN refinement stage built from the registry, run forward and backward on random inputs.

Run with ``python -m fusionblocks.demo``. The stage follows spec ``ffgan.md`` §1.4: FF-Block and GSR on the
stage input, concatenated → 2 × ResBlockGLU(128) → UpBlock(128, 64) → ImageHead.

Shapes:
    h ``(2, 64, 32, 32)``, words ``(2, 12, 256)``, mask ``(2, 12)``, sentence ``(2, 256)`` →
    new h ``(2, 64, 64, 64)``, image ``(2, 3, 64, 64)``, attention ``(2, 12, 32, 32)``.
"""

from __future__ import annotations

import argparse

import torch
from torch import nn

from .registry import create


class _RefinementStage(nn.Module):
    """FF-GAN ``NEXT_STAGE_G`` without the dead DM-GAN modules, assembled from registered layers.

    Shapes:
        - h: ``(B, C, H, W)``; words: ``(B, T, D)``; mask: ``(B, T)`` bool; sentence: ``(B, D)``.
        - output: new h ``(B, C, 2H, 2W)``, image ``(B, 3, 2H, 2W)``, attention ``(B, T, H, W)``.
    """

    def __init__(self, channels: int = 64, text_dim: int = 256, res_blocks: int = 2) -> None:
        super().__init__()
        self.ffblock = create("layer", "ffgan.ffblock", channels=channels, word_dim=text_dim)
        self.gsr = create("layer", "ffgan.gsr", channels=channels, sentence_dim=text_dim)
        self.residual = nn.Sequential(
            *[create("layer", "common.res_block", channels=2 * channels) for _ in range(res_blocks)]
        )
        self.upsample = create("layer", "common.up_block", in_channels=2 * channels, out_channels=channels)
        self.image = create("layer", "common.image_head", channels=channels)

    def forward(
        self, h: torch.Tensor, words: torch.Tensor, mask: torch.Tensor, sentence: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        fused, attn = self.ffblock(h, words, mask, return_attention=True)
        h = torch.cat([fused, self.gsr(h, sentence)], dim=1)
        h = self.upsample(self.residual(h))
        return h, self.image(h), attn


def main(argv: list[str] | None = None) -> None:
    """Build the stage, run forward + backward, print the shapes and the gradient norm.

    Shapes:
        See the module docstring.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--words", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    channels, text_dim = 64, 256
    stage = _RefinementStage(channels, text_dim)
    h = torch.randn(args.batch, channels, args.size, args.size)
    words = torch.randn(args.batch, args.words, text_dim)
    lengths = torch.randint(1, args.words + 1, (args.batch,))
    lengths[0] = args.words
    mask = torch.arange(args.words)[None, :] < lengths[:, None]
    words = words * mask[:, :, None]  # padded positions are zeros, as in the official pipeline
    sentence = torch.randn(args.batch, text_dim)

    new_h, image, attn = stage(h, words, mask, sentence)
    loss = image.square().mean() + new_h.square().mean()
    loss.backward()
    grads = [p.grad.norm() for p in stage.parameters() if p.grad is not None]
    grad_norm = torch.linalg.vector_norm(torch.stack(grads)).item()

    print(f"stage parameters: {sum(p.numel() for p in stage.parameters()):,}")
    print(f"input  h {tuple(h.shape)}  words {tuple(words.shape)}  mask {tuple(mask.shape)}  sentence {tuple(sentence.shape)}")
    print(f"output h {tuple(new_h.shape)}  image {tuple(image.shape)}  attention {tuple(attn.shape)}")
    print(f"loss {loss.item():.6f}  gradient norm {grad_norm:.6f}  ({len(grads)} parameter tensors with gradients)")


if __name__ == "__main__":
    main()
