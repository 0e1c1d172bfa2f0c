"""fusionblocks: text-image fusion components for text-to-image GANs.

The public API is imported lazily so that ``import fusionblocks`` stays cheap; ``timm`` and
``open_clip`` are only imported by the modules that need them.

Example:
    >>> from fusionblocks import FFBlock, list_components
    >>> block = FFBlock(channels=64, word_dim=256)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__
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

if TYPE_CHECKING:  # the lazy names, typed for static checkers and IDEs (tests/test_lazy_exports.py)
    from .data import CaptionedShapes, CaptionFolder, COCODataset, CUBDataset, collate_captions
    from .ffgan import BuiltGAN, FFGANConfig, build, build_ffgan, load_official
    from .image import DAMSMImageEncoder, SmallImageEncoder
    from .layers import (
        GLU,
        GSR,
        ConditioningAugmentation,
        DFAffine,
        DFBlock,
        FFBlock,
        ImageHead,
        ResBlockGLU,
        SpatialAffine,
        UpBlock,
        WordContextAttention,
    )
    from .losses import damsm_sentence_loss, damsm_word_loss
    from .metrics import evaluate, r_precision
    from .models import DFDiscriminator, DFGenerator, GeneratorOutput, StackedGenerator, StageDiscriminator
    from .text import CLIPTextEncoder, DAMSMTextEncoder, TextFeatures, Vocabulary
    from .train import Trainer, TrainerConfig, load_gan, seed_everything

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
    "WordContextAttention",
    "SpatialAffine",
    "FFBlock",
    "GSR",
    "DFAffine",
    "DFBlock",
    "ConditioningAugmentation",
    "GLU",
    "UpBlock",
    "ResBlockGLU",
    "ImageHead",
    "CaptionedShapes",
    "CaptionFolder",
    "CUBDataset",
    "COCODataset",
    "collate_captions",
    "TextFeatures",
    "Vocabulary",
    "DAMSMTextEncoder",
    "CLIPTextEncoder",
    "DAMSMImageEncoder",
    "SmallImageEncoder",
    "damsm_word_loss",
    "damsm_sentence_loss",
    "evaluate",
    "r_precision",
    "Trainer",
    "TrainerConfig",
    "load_gan",
    "seed_everything",
    "StackedGenerator",
    "StageDiscriminator",
    "DFGenerator",
    "DFDiscriminator",
    "GeneratorOutput",
    "build",
    "BuiltGAN",
    "load_official",
    "build_ffgan",
    "FFGANConfig",
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
