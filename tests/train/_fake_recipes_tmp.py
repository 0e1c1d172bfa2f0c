import sys, types
from dataclasses import dataclass
from typing import Any
import torch
try:
    import fusionblocks.train.recipes  # noqa
except ImportError:
    m = types.ModuleType("fusionblocks.train.recipes")
    @dataclass
    class TrainBatch:
        images: list
        captions: Any
        tokens: Any = None
        lengths: Any = None
        class_ids: Any = None
    @dataclass
    class TrainModules:
        generator: Any
        discriminators: Any
        text_encoder: Any
        image_encoder: Any
    m.TrainBatch = TrainBatch; m.TrainModules = TrainModules
    sys.modules["fusionblocks.train.recipes"] = m
    import fusionblocks.train
    fusionblocks.train.recipes = m
