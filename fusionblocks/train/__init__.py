"""Training: the [`Trainer`][fusionblocks.train.trainer.Trainer] loop, recipes, checkpoints, EMA, distributed helpers,
sampling and grids.

Names are imported lazily (``from fusionblocks.train import Trainer`` loads only what it needs):

    from fusionblocks.ffgan import build_ffgan
    from fusionblocks.train import Trainer, build_dataset

    gan = build_ffgan("tiny64")
    trainer = Trainer(gan, build_dataset(gan.config), "runs/tiny", steps=500)  # the rest from gan.config.train
    trainer.fit(resume=True)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the lazy names, typed for static checkers and IDEs (tests/test_lazy_exports.py)
    from .checkpoint import (
        Checkpoint,
        CheckpointError,
        list_checkpoints,
        load_checkpoint,
        resolve_checkpoint,
        save_checkpoint,
    )
    from .datasets import build_dataset
    from .device import autocast_factory, resolve_precision, select_device
    from .distributed import FreezeAwareDDP, init_distributed, parameter_hash
    from .ema import ModelEMA
    from .grids import attention_grid, caption_grid, save_images
    from .loggers import TensorBoardLogger, TrainLogger
    from .metrics_log import MetricsLogger, read_metrics
    from .recipes import DFGANRecipe, FFGANRecipe, Recipe, TrainBatch, TrainModules
    from .restore import load_gan
    from .rng import capture_rng_state, restore_rng_state, seed_everything
    from .sampler import ResumableSampler
    from .sampling import generate, make_noise
    from .smoke import smoke_overrides
    from .trainer import NonFiniteLossError, Trainer, TrainResult, config_to_dict
    from .trainer_config import TrainerConfig

# public name -> submodule
_LAZY: dict[str, str] = {
    "Trainer": "trainer",
    "TrainerConfig": "trainer_config",
    "TrainResult": "trainer",
    "NonFiniteLossError": "trainer",
    "config_to_dict": "trainer",
    "TrainBatch": "recipes",
    "TrainModules": "recipes",
    "Recipe": "recipes",
    "FFGANRecipe": "recipes",
    "DFGANRecipe": "recipes",
    "Checkpoint": "checkpoint",
    "CheckpointError": "checkpoint",
    "save_checkpoint": "checkpoint",
    "load_checkpoint": "checkpoint",
    "list_checkpoints": "checkpoint",
    "resolve_checkpoint": "checkpoint",
    "load_gan": "restore",
    "build_dataset": "datasets",
    "smoke_overrides": "smoke",
    "ModelEMA": "ema",
    "ResumableSampler": "sampler",
    "capture_rng_state": "rng",
    "restore_rng_state": "rng",
    "seed_everything": "rng",
    "select_device": "device",
    "resolve_precision": "device",
    "autocast_factory": "device",
    "init_distributed": "distributed",
    "parameter_hash": "distributed",
    "FreezeAwareDDP": "distributed",
    "MetricsLogger": "metrics_log",
    "TrainLogger": "loggers",
    "TensorBoardLogger": "loggers",
    "read_metrics": "metrics_log",
    "generate": "sampling",
    "make_noise": "sampling",
    "caption_grid": "grids",
    "attention_grid": "grids",
    "save_images": "grids",
}

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "DFGANRecipe",
    "FFGANRecipe",
    "FreezeAwareDDP",
    "MetricsLogger",
    "ModelEMA",
    "NonFiniteLossError",
    "Recipe",
    "ResumableSampler",
    "TensorBoardLogger",
    "TrainBatch",
    "TrainLogger",
    "TrainModules",
    "TrainResult",
    "Trainer",
    "TrainerConfig",
    "attention_grid",
    "autocast_factory",
    "build_dataset",
    "caption_grid",
    "capture_rng_state",
    "config_to_dict",
    "generate",
    "init_distributed",
    "list_checkpoints",
    "load_checkpoint",
    "load_gan",
    "make_noise",
    "parameter_hash",
    "read_metrics",
    "resolve_checkpoint",
    "resolve_precision",
    "restore_rng_state",
    "save_checkpoint",
    "save_images",
    "seed_everything",
    "select_device",
    "smoke_overrides",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fusionblocks.train' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
