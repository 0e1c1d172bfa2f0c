"""Former home of the training recipes, kept so that existing imports keep working.

The recipes now live in ``fusionblocks.recipes`` (below the builder, so that the builder needs nothing from
``fusionblocks.train``); import from there in new code.
"""

from __future__ import annotations

from ..recipes import (
    DFGANRecipe,
    FFGANRecipe,
    Recipe,
    TrainBatch,
    TrainModules,
    check_scales,
    encode_text,
    frozen,
    unwrap_module,
)

__all__ = [
    "TrainBatch",
    "TrainModules",
    "Recipe",
    "FFGANRecipe",
    "DFGANRecipe",
    "encode_text",
    "frozen",
    "check_scales",
    "unwrap_module",
]
