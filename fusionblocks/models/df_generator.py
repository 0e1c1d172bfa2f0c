"""DF-GAN's single-stage generator, optionally with FF-Blocks at chosen resolutions ([DF-GAN][ffgan-dfgan])."""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_mask, check_positive_int, check_same_batch, check_sentence, check_tensor, check_words
from ..registry import create, register
from .df_up_block import DFUpBlock
from .outputs import GeneratorOutput
from .stage_fusion import call_with_optional_map

__all__ = ["DFGenerator", "df_channel_plan", "dfgan_from_config"]


def df_channel_plan(nf: int, image_size: int) -> list[int]:
    """DF-GAN's widths from 4×4 up to ``image_size``: ``nf·min(2^k, 8)`` for ``k = log2(image_size) − 2 … 0``.

    For ``nf = 32, image_size = 256``: ``[256, 256, 256, 256, 128, 64, 32]`` (6 blocks).
    """
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 8 or image_size & (
        image_size - 1
    ):
        raise ValueError(f"image_size: expected a power of two >= 8, got {image_size!r}")
    n = int(math.log2(image_size)) - 1
    return [nf * min(2**k, 8) for k in range(n)][::-1]


def dfgan_from_config(config: Any, *, word_dim: int, sentence_dim: int) -> "DFGenerator":
    """The ``"dfgan"`` generator a model config describes (``model.*``; extra ``model.generator_kwargs``).

    Raises:
        ValueError: ``model.num_stages`` is not 1 (this generator has one output scale).
    """
    m = config.model
    if m.num_stages != 1:
        raise ValueError(f"model.num_stages: the 'dfgan' generator has a single stage, got {m.num_stages}")
    return create(
        "generator", "dfgan", nf=m.ngf, z_dim=m.z_dim, sentence_dim=sentence_dim, image_size=m.image_size,
        word_dim=word_dim if m.ffblock_resolutions else None, ffblock_resolutions=m.ffblock_resolutions,
        mask_padding=m.mask_padding, word_fusion=m.word_fusion, word_fusion_kwargs=m.word_fusion_kwargs,
        **m.generator_kwargs,
    )


@register("generator", "dfgan", from_config=dfgan_from_config, discriminator="dfgan", paper="DF-GAN (CVPR 2022)")
class DFGenerator(nn.Module):
    """``fc(z) → 4×4 → n × DFUpBlock([z ; s]) → LReLU → conv3×3 → tanh``; optional word-fusion blocks (FF-Blocks
    by default) after chosen blocks.

    With ``nf = 32, z_dim = 100, sentence_dim = 256, image_size = 256`` and no FF-Blocks this is DF-GAN 2022's
    ``NetG`` with 9,744,131 parameters. Every ``DFUpBlock`` is conditioned on ``y = [z ; s]``.
    ``ffblock_resolutions`` inserts a word-fusion block after the block that outputs each listed resolution: by
    default an [`FFBlock`][fusionblocks.layers.ffblock.FFBlock] (word attention → spatial affine,
    ``h ← h ⊙ γ(c_w) + β(c_w)``), or any registered layer named by ``word_fusion`` that is built as
    ``Block(channels, word_dim, mask_padding=..., **word_fusion_kwargs)`` and called as
    ``block(h, words, mask, return_attention=...)`` (returning ``h`` of the same shape, with its map when asked).
    Their word-attention maps are returned in ``GeneratorOutput.attention``.

    Args:
        nf: Base width (DF-GAN 32).
        z_dim: Noise width.
        sentence_dim: Sentence width.
        image_size: Output resolution (a power of two >= 8).
        word_dim: Word width (needed only with FF-Blocks).
        ffblock_resolutions: Resolutions (8 … image_size) after which a word-fusion block is applied.
        mask_padding: Mask padded words in the word-fusion blocks.
        word_fusion: Registered layer name of the word-fusion block.
        word_fusion_kwargs: Extra constructor arguments of the word-fusion block.

    Shapes:
        - z: ``(B, z_dim)``; sentence: ``(B, sentence_dim)``; words: ``(B, T, word_dim)`` or None when there are
          no FF-Blocks; mask: ``(B, T)`` bool or None.
        - output: [`GeneratorOutput`][fusionblocks.models.outputs.GeneratorOutput] with images
          ``[(B, 3, image_size, image_size)]``, attention
          ``[(B, T, r, r)]`` for each FF-Block resolution r, mu = logvar = None.
    """

    def __init__(
        self,
        nf: int = 32,
        z_dim: int = 100,
        sentence_dim: int = 256,
        image_size: int = 256,
        word_dim: int | None = None,
        ffblock_resolutions: Sequence[int] = (),
        mask_padding: bool = True,
        word_fusion: str = "ffgan.ffblock",
        word_fusion_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.nf = check_positive_int(nf, "nf")
        self.z_dim = check_positive_int(z_dim, "z_dim")
        self.sentence_dim = check_positive_int(sentence_dim, "sentence_dim")
        self.image_size = image_size
        widths = df_channel_plan(nf, image_size)
        resolutions = [8 * 2**i for i in range(len(widths) - 1)]
        ffblock_resolutions = sorted(set(int(r) for r in ffblock_resolutions))
        bad = [r for r in ffblock_resolutions if r not in resolutions]
        if bad:
            raise ValueError(f"ffblock_resolutions: {bad} are not block outputs; choose from {resolutions}")
        if ffblock_resolutions and word_dim is None:
            raise ValueError("word_dim: required when ffblock_resolutions is not empty")
        self.word_dim = None if word_dim is None else check_positive_int(word_dim, "word_dim")
        self.ffblock_resolutions = ffblock_resolutions
        self.fc = nn.Linear(z_dim, widths[0] * 4 * 4)
        cond_dim = z_dim + sentence_dim
        self.blocks = nn.ModuleList(DFUpBlock(a, b, cond_dim) for a, b in zip(widths[:-1], widths[1:]))
        self.word_fusion = word_fusion
        self.ffblocks = nn.ModuleDict(
            {
                str(r): create(
                    "layer", word_fusion, channels=widths[resolutions.index(r) + 1], word_dim=word_dim,
                    mask_padding=mask_padding, **dict(word_fusion_kwargs or {}),
                )
                for r in ffblock_resolutions
            }
        )
        self.to_rgb = nn.Conv2d(widths[-1], 3, 3, 1, 1)

    @property
    def image_sizes(self) -> list[int]:
        """Resolution of the single output scale."""
        return [self.image_size]

    def forward(
        self,
        z: torch.Tensor,
        sentence: torch.Tensor,
        words: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        *,
        return_attention: bool = True,
    ) -> GeneratorOutput:
        """Generate a batch of images; see the class docstring for shapes.

        ``return_attention=False`` returns no word-fusion attention maps (FF-Blocks then run their word attention
        as SDPA).
        """
        z = check_tensor(z, "z", ndim=2, like=self)
        if z.shape[1] != self.z_dim:
            raise ValueError(f"z: expected (B, {self.z_dim}), got shape {tuple(z.shape)}")
        sentence = check_sentence(sentence, "sentence", self.sentence_dim, like=self)
        batch = check_same_batch(z=z, sentence=sentence)
        if self.ffblocks:
            words = check_words(words, "words", self.word_dim, like=self)
            check_same_batch(z=z, words=words)
            if mask is not None:
                mask = check_mask(mask, "mask", batch, words.shape[1], require_real_token=False, like=self)
        cond = torch.cat([z, sentence.to(z.dtype)], dim=1)
        h = self.fc(z).view(batch, -1, 4, 4)
        attention: list[torch.Tensor] = []
        for block in self.blocks:
            h = block(h, cond)
            key = str(h.shape[-1])
            if key in self.ffblocks:
                h, attn = call_with_optional_map(self.ffblocks[key], h, words, mask, return_attention=return_attention)
                if attn is not None:
                    attention.append(attn)
        image = torch.tanh(self.to_rgb(F.leaky_relu(h, 0.2)))
        return GeneratorOutput(images=[image], attention=attention, mu=None, logvar=None)
