"""The multi-stage (StackGAN/AttnGAN/DM-GAN/FF-GAN) generator assembled from registered layers
([FF-GAN: architecture][ffgan-architecture])."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .._checks import check_mask, check_positive_int, check_same_batch, check_sentence, check_tensor, check_words
from ..layers import ConditioningAugmentation, ImageHead
from ..registry import create, register
from .init_stage import InitStage
from .outputs import GeneratorOutput
from .refinement_stage import RefinementStage
from .stage_fusion import build_stage_fusion

__all__ = ["StackedGenerator", "stacked_from_config"]


def stacked_from_config(config: Any, *, word_dim: int, sentence_dim: int) -> "StackedGenerator":
    """The ``"stacked"`` generator a model config describes (``model.*``; extra ``model.generator_kwargs``).

    Raises:
        ValueError: ``model.ffblock_resolutions`` is set (stacked models fuse words in their stages).
    """
    m = config.model
    if m.ffblock_resolutions:
        raise ValueError(
            "model.ffblock_resolutions: only used by the 'dfgan' generator (stacked models fuse in their stages, "
            "see model.stage_fusion)"
        )
    return create(
        "generator", "stacked", z_dim=m.z_dim, sentence_dim=sentence_dim, word_dim=word_dim, ngf=m.ngf,
        cond_dim=m.cond_dim,
        base_size=m.image_sizes[0], num_stages=m.num_stages, res_blocks=m.res_blocks,
        stage_fusion=m.stage_fusion, stage_fusion_kwargs=m.stage_fusion_kwargs, mask_padding=m.mask_padding,
        ca_sample_in_eval=m.ca_sample_in_eval, **m.generator_kwargs,
    )


@register(
    "generator", "stacked", from_config=stacked_from_config, discriminator="stage",
    paper="StackGAN++ / AttnGAN / DM-GAN / FF-GAN",
)
class StackedGenerator(nn.Module):
    """Conditioning augmentation → initial stage → refinement stages, one image per stage.

    The official FF-GAN generator (``G_NET``) is ``StackedGenerator(stage_fusion="ffgan.stage_fusion",
    stage_fusion_kwargs={"mask_padding": False}, ca_sample_in_eval=True)`` with the defaults below; AttnGAN is
    ``stage_fusion="attngan.stage_fusion"``. The fusion of every refinement stage is a registered layer that follows
    the stage-fusion protocol (``fusionblocks.models.stage_fusion``), so plugin blocks can be used by name. The
    unused DM-GAN memory modules of the official code are not built ([parameter counts][ffgan-parameter-counts]).

    Args:
        z_dim: Noise width.
        sentence_dim: Sentence feature width (CA input; GSR input).
        word_dim: Word feature width.
        ngf: Feature width of every stage (official 64).
        cond_dim: Conditioning-augmentation code width (ncf, official 100).
        base_size: Resolution of the first stage (official 64); stage ``i`` outputs ``base_size · 2^i``.
        num_stages: Number of output scales (official 3).
        res_blocks: Residual blocks per refinement stage (official R_NUM: 2 CUB, 3 COCO).
        stage_fusion: Registered layer name of the refinement-stage fusion.
        stage_fusion_kwargs: Extra constructor arguments of the fusion.
        mask_padding: Mask padded words in word attention (False = official FF-GAN; passed to every fusion).
        ca_sample_in_eval: Sample the CA noise in eval mode too (official behaviour).

    Shapes:
        - z: ``(B, z_dim)``; sentence: ``(B, sentence_dim)``; words: ``(B, T, word_dim)``; mask: ``(B, T)`` bool
          (True = real token) or None.
        - output: [`GeneratorOutput`][fusionblocks.models.outputs.GeneratorOutput] with images
          ``[(B, 3, base_size·2^i, ·)]`` for i < num_stages,
          attention ``[(B, T, base_size·2^j, ·)]`` for j < num_stages − 1 (one per refinement stage whose fusion
          returns a map), mu and logvar ``(B, cond_dim)``.
    """

    def __init__(
        self,
        z_dim: int = 100,
        sentence_dim: int = 256,
        word_dim: int = 256,
        ngf: int = 64,
        cond_dim: int = 100,
        base_size: int = 64,
        num_stages: int = 3,
        res_blocks: int = 2,
        stage_fusion: str = "ffgan.stage_fusion",
        stage_fusion_kwargs: dict[str, Any] | None = None,
        mask_padding: bool = True,
        ca_sample_in_eval: bool = False,
    ) -> None:
        super().__init__()
        self.z_dim = check_positive_int(z_dim, "z_dim")
        self.sentence_dim = check_positive_int(sentence_dim, "sentence_dim")
        self.word_dim = check_positive_int(word_dim, "word_dim")
        self.ngf = check_positive_int(ngf, "ngf")
        self.cond_dim = check_positive_int(cond_dim, "cond_dim")
        self.num_stages = check_positive_int(num_stages, "num_stages")
        self.base_size = base_size
        self.stage_fusion = stage_fusion
        self.ca = ConditioningAugmentation(sentence_dim, cond_dim, sample_in_eval=ca_sample_in_eval)
        self.init_stage = InitStage(z_dim + cond_dim, ngf, base_size)
        kwargs = {"mask_padding": mask_padding, **dict(stage_fusion_kwargs or {})}
        self.stages = nn.ModuleList(
            RefinementStage(
                ngf,
                build_stage_fusion(stage_fusion, ngf, word_dim, sentence_dim, **kwargs),
                res_blocks,
                fusion_name=stage_fusion,
            )
            for _ in range(num_stages - 1)
        )
        self.heads = nn.ModuleList(ImageHead(ngf) for _ in range(num_stages))

    @property
    def image_sizes(self) -> list[int]:
        """Resolution of every output scale, smallest first."""
        return [self.base_size * 2**i for i in range(self.num_stages)]

    def forward(
        self,
        z: torch.Tensor,
        sentence: torch.Tensor,
        words: torch.Tensor,
        mask: torch.Tensor | None = None,
        *,
        sample_ca: bool | None = None,
        return_attention: bool = True,
    ) -> GeneratorOutput:
        """Generate one image per stage; see the class docstring for shapes.

        Args:
            z: Noise.
            sentence: Sentence features.
            words: Word features.
            mask: Word mask (True = real token) or None.
            sample_ca: Force (True) or disable (False) the CA noise; None follows the module mode.
            return_attention: False returns no attention maps (``attention == []``), so that word attention can
                run as ``scaled_dot_product_attention``; training does this, sampling keeps the maps.
        """
        z = check_tensor(z, "z", ndim=2, like=self)
        if z.shape[1] != self.z_dim:
            raise ValueError(f"z: expected (B, {self.z_dim}), got shape {tuple(z.shape)}")
        sentence = check_sentence(sentence, "sentence", self.sentence_dim, like=self)
        words = check_words(words, "words", self.word_dim, like=self)
        batch = check_same_batch(z=z, sentence=sentence, words=words)
        if mask is not None:
            mask = check_mask(mask, "mask", batch, words.shape[1], require_real_token=False, like=self)

        c, mu, logvar = self.ca(sentence, sample=sample_ca)
        h = self.init_stage(torch.cat([c, z], dim=1))
        images = [self.heads[0](h)]
        attention: list[torch.Tensor] = []
        for stage, head in zip(self.stages, self.heads[1:]):
            h, attn = stage(h, words, mask, sentence, return_attention=return_attention)
            images.append(head(h))
            if attn is not None:
                attention.append(attn)
        return GeneratorOutput(images=images, attention=attention, mu=mu, logvar=logvar)
