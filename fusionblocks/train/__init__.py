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
from typing import Any

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

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fusionblocks.train' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
