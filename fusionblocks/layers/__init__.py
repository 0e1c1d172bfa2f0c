"""Reusable, registered fusion layers and stage building blocks (kind ``"layer"``), one concept per file.

Importing this package registers every built-in layer; each registration carries a conformance ``example``
(see ``fusionblocks.layers._example``).
"""

from __future__ import annotations

from ._example import LayerExample
from .conditioning_augmentation import ConditioningAugmentation
from .df_affine import DFAffine
from .df_block import DFBlock
from .ffblock import FFBlock
from .glu import GLU
from .gsr import GSR
from .image_head import ImageHead
from .res_block import ResBlockGLU
from .spatial_affine import SpatialAffine
from .up_block import UpBlock
from .word_attention import WordContextAttention

__all__ = [
    "ConditioningAugmentation",
    "DFAffine",
    "DFBlock",
    "FFBlock",
    "GLU",
    "GSR",
    "ImageHead",
    "LayerExample",
    "ResBlockGLU",
    "SpatialAffine",
    "UpBlock",
    "WordContextAttention",
]
