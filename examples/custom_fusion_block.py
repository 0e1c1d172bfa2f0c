"""A new text–image fusion block as a plugin, used as the refinement-stage fusion of an FF-GAN variant.

Run: ``python examples/custom_fusion_block.py`` (CPU, a few seconds).

A stage fusion follows a small protocol (``fusionblocks.models.stage_fusion``):

- constructed as ``Block(channels, word_dim, sentence_dim, *, mask_padding, **kwargs)`` and exposes
  ``out_channels``;
- called as ``block(h, words, mask, sentence, *, return_attention)`` → ``(fused (B, out_channels, H, W),
  attention (B, T, H, W) | None)``; training passes ``return_attention=False`` (no map needed), sampling ``True``.

Register it in-process with ``@register("layer", name, example=...)`` (the ``example`` lets the registry-wide
conformance suite test it), then select it by name: ``model.stage_fusion = "mylab.gated_word_fusion"``.

To ship it as a package, declare an entry point so that fusionblocks imports (and thereby registers) it on the
first registry lookup; in your ``pyproject.toml``::

    [project.entry-points."fusionblocks.plugins"]
    mylab = "mylab_fusion.blocks"        # a module whose import runs the @register decorators

and then ``fusionblocks train --preset tiny64 --set model.stage_fusion=mylab.gated_word_fusion`` works without any
import in user code (``FUSIONBLOCKS_DISABLE_PLUGINS=1`` turns discovery off).
"""

from __future__ import annotations

import torch
from torch import nn

from fusionblocks import register
from fusionblocks.data import CaptionedShapes
from fusionblocks.ffgan import build_ffgan
from fusionblocks.layers import LayerExample, WordContextAttention
from fusionblocks.recipes import TrainBatch


def _example(batch_size: int) -> LayerExample:
    """Small inputs for the conformance suite (shapes, gradients, bf16, batch-1, permutation checks)."""
    g = torch.Generator().manual_seed(0)
    mask = torch.ones(batch_size, 5, dtype=torch.bool)
    mask[:, 4:] = False
    return LayerExample(
        module=GatedWordFusion(8, 12, 10),
        args=(
            torch.randn(batch_size, 8, 6, 6, generator=g),
            torch.randn(batch_size, 5, 12, generator=g),
            mask,
            torch.randn(batch_size, 10, generator=g),
        ),
        output_shapes=((batch_size, 16, 6, 6), (batch_size, 5, 6, 6)),
    )


@register("layer", "mylab.gated_word_fusion", example=_example, override=True)
class GatedWordFusion(nn.Module):
    """``[h ; g(s) ⊙ c_w]``: the word context of every pixel, gated per channel by the sentence.

    Args:
        channels: Width C of the stage features.
        word_dim: Word feature width.
        sentence_dim: Sentence feature width.
        mask_padding: Mask padded words in the attention.

    Shapes:
        - h: ``(B, C, H, W)``; words: ``(B, T, word_dim)``; mask: ``(B, T)``; sentence: ``(B, sentence_dim)``.
        - output: ``(fused (B, 2C, H, W), attention (B, T, H, W))``.
    """

    def __init__(self, channels: int, word_dim: int, sentence_dim: int, *, mask_padding: bool = True) -> None:
        super().__init__()
        self.attention = WordContextAttention(channels, word_dim, mask_padding=mask_padding)
        self.gate = nn.Linear(sentence_dim, channels)
        self.out_channels = 2 * channels

    def forward(self, h, words, mask, sentence, *, return_attention: bool = True):
        if return_attention:
            context, attn = self.attention(h, words, mask, return_attention=True)
        else:  # no map wanted (training): the attention may run as scaled_dot_product_attention
            context, attn = self.attention(h, words, mask), None
        gate = torch.sigmoid(self.gate(sentence))[:, :, None, None]
        return torch.cat([h, gate * context], dim=1), attn


def main() -> None:
    torch.manual_seed(0)
    gan = build_ffgan(
        "tiny64",
        model={"stage_fusion": "mylab.gated_word_fusion", "ngf": 16, "ndf": 8},
        train={"batch_size": 8},
    )
    fusion = gan.generator.stages[0].fusion
    print(f"stage fusion: {type(fusion).__name__} (out_channels={fusion.out_channels})")
    print({k: f"{v:,}" for k, v in gan.num_parameters().items()})

    data = CaptionedShapes(size=8, resolution=64, num_scales=2)
    items = [data[i] for i in range(8)]
    batch = TrainBatch(
        images=[torch.stack([it["images"][k] for it in items]) for k in range(2)],
        captions=[it["caption"] for it in items],
    )
    optimizers = gan.recipe.build_optimizers(gan.generator, gan.discriminators)
    losses = gan.recipe.iteration(gan.train_modules(), batch, optimizers)
    print("one training iteration:", {k: round(v.item(), 4) for k, v in losses.items()})

    out = gan.generate(["a small red circle", "a large blue square above a small green triangle"])
    print("images:", [tuple(i.shape) for i in out.images], "attention:", [tuple(a.shape) for a in out.attention])


if __name__ == "__main__":
    main()
