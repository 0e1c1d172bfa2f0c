"""fusionblocks: text-image fusion components for text-to-image GANs.

The public API is imported lazily so that ``import fusionblocks`` stays cheap; ``timm`` and
``open_clip`` are only imported by the modules that need them.

Example:
    >>> from fusionblocks import FFBlock, list_components
    >>> block = FFBlock(channels=64, word_dim=256)
"""

from __future__ import annotations

import importlib
from typing import Any

from .registry import (
    KINDS,
    PluginError,
    create,
    get,
    get_registry,
    list_components,
    load_plugins,
    register,
)

__version__ = "0.1.0"

# public name -> module that defines it (imported on first access)
_LAZY: dict[str, str] = {
    "WordContextAttention": "fusionblocks.layers",
    "SpatialAffine": "fusionblocks.layers",
    "FFBlock": "fusionblocks.layers",
    "GSR": "fusionblocks.layers",
    "DFAffine": "fusionblocks.layers",
    "DFBlock": "fusionblocks.layers",
    "ConditioningAugmentation": "fusionblocks.layers",
    "GLU": "fusionblocks.layers",
    "UpBlock": "fusionblocks.layers",
    "ResBlockGLU": "fusionblocks.layers",
    "ImageHead": "fusionblocks.layers",
    "CaptionedShapes": "fusionblocks.data",
    "CaptionFolder": "fusionblocks.data",
    "CUBDataset": "fusionblocks.data",
    "COCODataset": "fusionblocks.data",
    "collate_captions": "fusionblocks.data",
    "TextFeatures": "fusionblocks.text",
    "Vocabulary": "fusionblocks.text",
    "DAMSMTextEncoder": "fusionblocks.text",
    "CLIPTextEncoder": "fusionblocks.text",
    "DAMSMImageEncoder": "fusionblocks.image",
    "SmallImageEncoder": "fusionblocks.image",
    "damsm_word_loss": "fusionblocks.losses",
    "damsm_sentence_loss": "fusionblocks.losses",
    "evaluate": "fusionblocks.metrics",
    "r_precision": "fusionblocks.metrics",
    "Trainer": "fusionblocks.train",
    "TrainerConfig": "fusionblocks.train",
    "load_gan": "fusionblocks.train",
    "seed_everything": "fusionblocks.train",
    "StackedGenerator": "fusionblocks.models",
    "StageDiscriminator": "fusionblocks.models",
    "DFGenerator": "fusionblocks.models",
    "DFDiscriminator": "fusionblocks.models",
    "GeneratorOutput": "fusionblocks.models",
    "build": "fusionblocks.ffgan",
    "BuiltGAN": "fusionblocks.ffgan",
    "load_official": "fusionblocks.ffgan",
    "build_ffgan": "fusionblocks.ffgan",
    "FFGANConfig": "fusionblocks.ffgan",
}

__all__ = [
    "KINDS",
    "PluginError",
    "__version__",
    "create",
    "get",
    "get_registry",
    "list_components",
    "load_plugins",
    "register",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fusionblocks' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
