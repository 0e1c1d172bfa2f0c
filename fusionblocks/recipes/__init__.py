"""Training recipes (kind ``"recipe"``): what one iteration of a GAN does. Below the builder and the trainer.

- [`FFGANRecipe`][fusionblocks.recipes.ffgan.FFGANRecipe] (``"ffgan"``): BCE per scale + DAMSM + KL, EMA 0.999.
- [`DFGANRecipe`][fusionblocks.recipes.dfgan.DFGANRecipe] (``"dfgan"``): hinge + MA-GP, no EMA.

A recipe's hyper-parameters (learning rates, betas, EMA decay, loss weights) are declared here, once: the model
config's ``train`` section takes its defaults from these classes, and ``from_config`` builds a recipe from it.
"""

from __future__ import annotations

from .base import Recipe, TrainBatch, TrainModules, check_scales, encode_text, frozen, unwrap_module
from .dfgan import DFGANRecipe
from .ffgan import FFGANRecipe

__all__ = [
    "Recipe",
    "TrainBatch",
    "TrainModules",
    "FFGANRecipe",
    "DFGANRecipe",
    "check_scales",
    "encode_text",
    "frozen",
    "unwrap_module",
]
