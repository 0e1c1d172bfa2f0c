"""Generators and discriminators assembled from registered layers (kinds ``"generator"``, ``"discriminator"``).

- [`StackedGenerator`][fusionblocks.models.stacked_generator.StackedGenerator] (``"stacked"``): the multi-stage FF-GAN
  / AttnGAN / DM-GAN-style generator whose
  refinement-stage fusion is a registered layer (``stage_fusion``).
- [`StageDiscriminator`][fusionblocks.models.stage_discriminator.StageDiscriminator] (``"stage"``): per-scale SN
  discriminators with conditional and unconditional heads.
- [`DFGenerator`][fusionblocks.models.df_generator.DFGenerator] (``"dfgan"``) and
  [`DFDiscriminator`][fusionblocks.models.df_discriminator.DFDiscriminator] (``"dfgan"``): DF-GAN 2022, single stage.
- Stage fusions (kind ``"layer"``): ``"ffgan.stage_fusion"`` (FF-Block + GSR), ``"attngan.stage_fusion"``.
"""

from __future__ import annotations

from .attngan_stage_fusion import AttnGANStageFusion
from .df_discriminator import DFCondHead, DFDiscriminator
from .df_down_block import DFDownBlock
from .df_generator import DFGenerator, df_channel_plan
from .df_up_block import DFUpBlock
from .ffgan_stage_fusion import FFGANStageFusion
from .init import official_init
from .init_stage import InitStage
from .outputs import DiscriminatorOutput, GeneratorOutput
from .refinement_stage import RefinementStage
from .spectral import resync_spectral_norm
from .stacked_generator import StackedGenerator
from .stage_discriminator import CondHead, StageDiscriminator, UncondHead
from .stage_fusion import StageFusion, build_stage_fusion

__all__ = [
    "AttnGANStageFusion",
    "CondHead",
    "DFCondHead",
    "DFDiscriminator",
    "DFDownBlock",
    "DFGenerator",
    "DFUpBlock",
    "DiscriminatorOutput",
    "FFGANStageFusion",
    "GeneratorOutput",
    "InitStage",
    "RefinementStage",
    "StackedGenerator",
    "StageDiscriminator",
    "StageFusion",
    "UncondHead",
    "build_stage_fusion",
    "df_channel_plan",
    "official_init",
    "resync_spectral_norm",
]
