"""DF-GAN's discriminator (``NetD``) with its one-way conditional head (``NetC``; [DF-GAN][ffgan-dfgan])."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from .._checks import check_images, check_positive_int, check_same_batch, check_sentence
from ..registry import create, register
from .df_down_block import DFDownBlock
from .outputs import DiscriminatorOutput

__all__ = ["dfgan_discriminator_from_config", "DFDiscriminator", "DFCondHead"]


class DFCondHead(nn.Module):
    """DF-GAN's ``NetC``: tile s to 4×4, concat, conv3×3 (no bias) → LReLU(0.2) → conv4×4 valid (no bias) → logit.

    With ``channels = 256, sentence_dim = 256, nf = 32`` it has 295,936 parameters, as the official ``NetC``.

    Args:
        channels: Feature channels C (8·nf).
        sentence_dim: Sentence width.
        hidden: Width of the joint conv (2·nf).

    Shapes:
        - features: ``(B, C, 4, 4)``; sentence: ``(B, sentence_dim)``.
        - output: ``(B,)`` logits.
    """

    def __init__(self, channels: int, sentence_dim: int, hidden: int) -> None:
        super().__init__()
        self.sentence_dim = sentence_dim
        self.joint = nn.Sequential(
            nn.Conv2d(channels + sentence_dim, hidden, 3, 1, 1, bias=False),
            nn.LeakyReLU(0.2),
            nn.Conv2d(hidden, 1, 4, 1, 0, bias=False),
        )

    def forward(self, features: torch.Tensor, sentence: torch.Tensor) -> torch.Tensor:
        """Return one logit per (image, sentence) pair."""
        sentence = check_sentence(sentence, "sentence", self.sentence_dim, like=self)
        check_same_batch(features=features, sentence=sentence)
        tiled = sentence[:, :, None, None].expand(-1, -1, *features.shape[-2:])
        return self.joint(torch.cat([features, tiled.to(features.dtype)], dim=1)).flatten()


def dfgan_discriminator_from_config(config: Any, *, sentence_dim: int, image_size: int) -> "DFDiscriminator":
    """The ``"dfgan"`` discriminator (``model.ndf/keep_unused_shortcuts``; extra ``model.discriminator_kwargs``)."""
    m = config.model
    return create(
        "discriminator", "dfgan", nf=m.ndf, sentence_dim=sentence_dim, image_size=image_size,
        keep_unused_shortcuts=m.keep_unused_shortcuts, **m.discriminator_kwargs,
    )


@register("discriminator", "dfgan", from_config=dfgan_discriminator_from_config, paper="DF-GAN (CVPR 2022)")
class DFDiscriminator(nn.Module):
    """``conv3×3(3 → nf) → n × DFDownBlock → (B, 8nf, 4, 4)`` plus the conditional head
    [`DFCondHead`][fusionblocks.models.df_discriminator.DFCondHead].

    Widths ``nf·min(2^k, 8)`` for ``k = 0 … log2(image_size) − 2``. With ``nf = 32, image_size = 256``
    the trunk has 6,421,830 parameters (6,619,206 with ``keep_unused_shortcuts=True``, the official count) and the
    head 295,936. There is no unconditional head; logits are returned (hinge loss).

    Args:
        nf: Base width.
        sentence_dim: Sentence width.
        image_size: Input resolution (a power of two >= 8).
        keep_unused_shortcuts: Build the official never-used 1×1 shortcut convs of equal-width blocks.

    Shapes:
        - images: ``(B, 3, image_size, image_size)``; sentence, wrong_sentence: ``(B, sentence_dim)`` or None.
        - output: [`DiscriminatorOutput`][fusionblocks.models.outputs.DiscriminatorOutput] with features
          ``(B, 8nf, 4, 4)``, cond/wrong ``(B,)``, uncond None.
    """

    def __init__(
        self, nf: int = 32, sentence_dim: int = 256, image_size: int = 256, keep_unused_shortcuts: bool = False
    ) -> None:
        super().__init__()
        if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 8 or image_size & (
            image_size - 1
        ):
            raise ValueError(f"image_size: expected a power of two >= 8, got {image_size!r}")
        self.nf = check_positive_int(nf, "nf")
        self.sentence_dim = check_positive_int(sentence_dim, "sentence_dim")
        self.image_size = image_size
        widths = [nf * min(2**k, 8) for k in range(int(math.log2(image_size)) - 1)]
        self.conv_img = nn.Conv2d(3, widths[0], 3, 1, 1)
        self.blocks = nn.ModuleList(
            DFDownBlock(a, b, keep_unused_shortcut=keep_unused_shortcuts) for a, b in zip(widths[:-1], widths[1:])
        )
        self.feature_channels = widths[-1]
        self.cond_head = DFCondHead(widths[-1], sentence_dim, hidden=2 * nf)

    def trunk(self, images: torch.Tensor) -> torch.Tensor:
        """Image → ``(B, 8nf, 4, 4)`` features."""
        images = check_images(images, "images", self.image_size, like=self)
        h = self.conv_img(images)
        for block in self.blocks:
            h = block(h)
        return h

    def cond_logits(self, features: torch.Tensor, sentence: torch.Tensor) -> torch.Tensor:
        """Conditional logits ``(B,)`` of trunk features with a sentence."""
        return self.cond_head(features, sentence)

    def forward(
        self,
        images: torch.Tensor,
        sentence: torch.Tensor | None = None,
        wrong_sentence: torch.Tensor | None = None,
    ) -> DiscriminatorOutput:
        """Run the trunk once and the conditional head for each given sentence batch."""
        features = self.trunk(images)
        return DiscriminatorOutput(
            features=features,
            cond=None if sentence is None else self.cond_head(features, sentence),
            uncond=None,
            wrong=None if wrong_sentence is None else self.cond_head(features, wrong_sentence),
        )
