"""Per-scale discriminators of the multi-stage GANs, with conditional and unconditional heads
([FF-GAN: discriminators][ffgan-discriminators])."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from .._checks import check_images, check_positive_int, check_same_batch, check_sentence
from ..registry import create, register
from .outputs import DiscriminatorOutput
from .spectral import conv2d, conv_lrelu

__all__ = ["stage_from_config", "StageDiscriminator", "CondHead", "UncondHead"]


class UncondHead(nn.Module):
    """Unconditional logit: a plain conv 4×4 stride 4 (C → 1, with bias, no SN) on 4×4 features.

    Official ``UNCOND_DNET`` without its sigmoid (the losses take logits).

    Args:
        channels: Feature channels C.

    Shapes:
        - features: ``(B, C, 4, 4)``.
        - output: ``(B,)`` logits.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.out = nn.Conv2d(channels, 1, kernel_size=4, stride=4)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Return one logit per sample."""
        return self.out(features).flatten()


class CondHead(nn.Module):
    """Conditional logit: tile the sentence to 4×4, concat, SN conv3×3 + LReLU(0.2), conv 4×4 stride 4 → 1.

    Official ``COND_DNET`` (``D_GET_LOGITS(bcondition=True)``) without its sigmoid.

    Args:
        channels: Feature channels C.
        sentence_dim: Sentence width.
        sn: Spectral norm on the joint conv (official: yes).

    Shapes:
        - features: ``(B, C, 4, 4)``; sentence: ``(B, sentence_dim)``.
        - output: ``(B,)`` logits.
    """

    def __init__(self, channels: int, sentence_dim: int, sn: bool = True) -> None:
        super().__init__()
        self.sentence_dim = sentence_dim
        self.joint = conv_lrelu(channels + sentence_dim, channels, 3, 1, 1, sn=sn)
        self.out = nn.Conv2d(channels, 1, kernel_size=4, stride=4)

    def forward(self, features: torch.Tensor, sentence: torch.Tensor) -> torch.Tensor:
        """Return one logit per (image, sentence) pair."""
        sentence = check_sentence(sentence, "sentence", self.sentence_dim, like=self)
        check_same_batch(features=features, sentence=sentence)
        tiled = sentence[:, :, None, None].expand(-1, -1, *features.shape[-2:])
        return self.out(self.joint(torch.cat([features, tiled.to(features.dtype)], dim=1))).flatten()


def stage_from_config(config: Any, *, sentence_dim: int, image_size: int) -> "StageDiscriminator":
    """The ``"stage"`` discriminator of one output scale (``model.ndf/uncond_head/spectral_norm``; extra
    ``model.discriminator_kwargs``)."""
    m = config.model
    return create(
        "discriminator", "stage", image_size=image_size, ndf=m.ndf, sentence_dim=sentence_dim, uncond=m.uncond_head,
        sn=m.spectral_norm, **m.discriminator_kwargs,
    )


@register("discriminator", "stage", from_config=stage_from_config, paper="StackGAN++ / AttnGAN / DM-GAN / FF-GAN")
class StageDiscriminator(nn.Module):
    """One discriminator of a multi-stage GAN: an SN conv trunk down to 4×4 plus conditional/unconditional heads.

    For ``image_size`` 64/128/256 and ``ndf = 32`` this is the official ``D_NET64/128/256``:
    ``encoder`` = 4 × [SN conv 4×4 s2 + LReLU] (3 → ndf → 2ndf → 4ndf → 8ndf), then for every further factor 2 a
    ``down`` block (SN conv 4×4 s2, doubling the width) and finally as many ``reduce`` blocks (SN conv3×3, halving
    the width) back to 8·ndf. Smaller images (32², 16²) use fewer encoder convs and end at a narrower width.
    Every head returns **logits** (the official code applies a sigmoid; the losses here take logits).

    Args:
        image_size: Input resolution (a power of two >= 8).
        ndf: Base width (official 32).
        sentence_dim: Sentence width for the conditional head.
        uncond: Build the unconditional head (official: yes).
        sn: Spectral norm on the trunk and joint convs (official: yes).

    Shapes:
        - images: ``(B, 3, image_size, image_size)``; sentence, wrong_sentence: ``(B, sentence_dim)`` or None.
        - output: [`DiscriminatorOutput`][fusionblocks.models.outputs.DiscriminatorOutput] with features
          ``(B, feature_channels, 4, 4)`` and logits ``(B,)``.
    """

    def __init__(
        self, image_size: int = 64, ndf: int = 32, sentence_dim: int = 256, uncond: bool = True, sn: bool = True
    ) -> None:
        super().__init__()
        if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 8 or image_size & (
            image_size - 1
        ):
            raise ValueError(f"image_size: expected a power of two >= 8, got {image_size!r}")
        self.image_size = image_size
        self.ndf = check_positive_int(ndf, "ndf")
        self.sentence_dim = check_positive_int(sentence_dim, "sentence_dim")
        n_down = int(math.log2(image_size)) - 2
        n_enc = min(4, n_down)
        widths = [3] + [ndf * 2**i for i in range(n_enc)]
        layers: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [conv2d(a, b, 4, 2, 1, sn=sn), nn.LeakyReLU(0.2)]
        self.encoder = nn.Sequential(*layers)
        width = widths[-1]
        self.feature_channels = width
        extra = n_down - n_enc
        self.down = nn.ModuleList(conv_lrelu(width * 2**i, width * 2 ** (i + 1), 4, 2, 1, sn=sn) for i in range(extra))
        self.reduce = nn.ModuleList(
            conv_lrelu(width * 2 ** (extra - i), width * 2 ** (extra - i - 1), 3, 1, 1, sn=sn) for i in range(extra)
        )
        self.cond_head = CondHead(width, sentence_dim, sn=sn)
        self.uncond_head = UncondHead(width) if uncond else None

    def trunk(self, images: torch.Tensor) -> torch.Tensor:
        """Image → ``(B, feature_channels, 4, 4)`` features."""
        images = check_images(images, "images", self.image_size, like=self)
        h = self.encoder(images)
        for block in self.down:
            h = block(h)
        for block in self.reduce:
            h = block(h)
        return h

    def cond_logits(self, features: torch.Tensor, sentence: torch.Tensor) -> torch.Tensor:
        """Conditional logits ``(B,)`` of trunk features with a sentence."""
        return self.cond_head(features, sentence)

    def uncond_logits(self, features: torch.Tensor) -> torch.Tensor:
        """Unconditional logits ``(B,)``; raises if the discriminator has no unconditional head."""
        if self.uncond_head is None:
            raise RuntimeError("this StageDiscriminator was built with uncond=False")
        return self.uncond_head(features)

    def forward(
        self,
        images: torch.Tensor,
        sentence: torch.Tensor | None = None,
        wrong_sentence: torch.Tensor | None = None,
    ) -> DiscriminatorOutput:
        """Run the trunk once and every head that has its inputs (one call, so DDP sees one forward).

        Args:
            images: Real or generated images.
            sentence: Matching sentences for the conditional logits.
            wrong_sentence: Mismatched sentences (e.g. ``sentence.roll(-1, 0)``) for the "wrong" logits.
        """
        features = self.trunk(images)
        return DiscriminatorOutput(
            features=features,
            cond=None if sentence is None else self.cond_head(features, sentence),
            uncond=None if self.uncond_head is None else self.uncond_head(features),
            wrong=None if wrong_sentence is None else self.cond_head(features, wrong_sentence),
        )
