"""The training loop's settings, and the one function that derives them from a model config.

The schedule (steps or epochs, batch size, seed, precision, logging / sampling / checkpoint cadence) is declared
once, in the model config's ``train`` section ([`TrainConfig`][fusionblocks.ffgan.config.TrainConfig]); its
defaults are this class's defaults.
[`TrainerConfig.from_config`][fusionblocks.train.trainer_config.TrainerConfig.from_config]
is the one translation from a model config to loop settings, used by the trainer itself, the command line, the
demo and the examples. What only the loop needs (device, memory format, compilation, checkpoints kept, progress
bar, TensorBoard, wall-time budget) lives here alone.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Mapping

from .._precision import PRECISIONS
from ..ffgan.config import DataConfig, FFGANConfig, TrainConfig

__all__ = ["TrainerConfig"]

#: The loop settings that come from the model config's ``train`` section (same names there).
SCHEDULE_KEYS: tuple[str, ...] = (
    "steps", "epochs", "batch_size", "seed", "precision", "log_every", "sample_every", "checkpoint_every",
)


@dataclass
class TrainerConfig:
    """Settings of the training loop (the model's own hyper-parameters live in the model config and recipe).

    Attributes:
        steps: Total optimisation steps (a resumed run stops at the same total). ``None``: ``epochs`` decide.
        epochs: Passes over the data when ``steps`` is ``None``: ``epochs × batches per epoch per process``, so
            the world size is accounted for once, where the data is sharded.
        batch_size: Per-process batch size.
        seed: Seed of the run (rank ``r`` seeds its RNGs with ``seed + r``; the data order uses ``seed``).
        device: ``"auto"`` (CUDA, else MPS, else CPU) or a device string.
        precision: ``"auto"`` (bf16 on CUDA/CPU), ``"bf16"`` or ``"fp32"``. fp16 is refused.
        channels_last: Use channels-last memory format for images and convolutional models (meant for GPUs: on
            CPU, PyTorch's NHWC BatchNorm backward makes an FF-GAN iteration about 20 % slower; see
            docs/performance.md).
        compile: ``torch.compile`` the generator and discriminators.
        num_workers: DataLoader workers.
        log_every: Steps between ``metrics.jsonl`` records (losses averaged over the window).
        sample_every: Steps between sample grids (0: only at the end).
        checkpoint_every: Steps between checkpoints (0: only at the end).
        keep_checkpoints: Checkpoints kept on disk (older ones are removed after a new one is complete).
        num_samples: Captions in each sample grid (when ``sample_captions`` is not given to the trainer).
        sample_seed: Seed of the fixed noise used for the grids.
        progress: Show a tqdm progress bar (rank 0).
        tensorboard: Also log to TensorBoard (``RUN/tensorboard/``; needs the ``tensorboard`` package). Off
            unless asked for; ``metrics.jsonl`` is always written.
        find_unused_parameters: Passed to DDP (for models with parameters that some steps leave unused).
        deterministic: ``torch.use_deterministic_algorithms(True)`` and cuDNN benchmarking off (bit-reproducible
            GPU runs, slower); otherwise cuDNN benchmarking is on. The official code set both at once.
        nonfinite_patience: Consecutive steps whose gradients may hold NaN/Inf before training stops. Each such
            optimiser update is skipped (weights and moments unchanged) with a warning and counted as
            ``skipped_steps`` in ``metrics.jsonl``; ``0`` stops at the first one.
        max_seconds: Wall-time budget of one [`Trainer.fit`][fusionblocks.train.trainer.Trainer.fit] call: when a
            step ends past it, training stops there as if ``steps`` had been reached (final samples and
            checkpoint written). ``None``: no budget.
    """

    steps: int | None = TrainConfig.steps
    epochs: int | None = TrainConfig.epochs
    batch_size: int = TrainConfig.batch_size
    seed: int = TrainConfig.seed
    device: str = "auto"
    precision: str = TrainConfig.precision
    channels_last: bool = False
    compile: bool = False
    num_workers: int = 0
    log_every: int = TrainConfig.log_every
    sample_every: int = TrainConfig.sample_every
    checkpoint_every: int = TrainConfig.checkpoint_every
    keep_checkpoints: int = 2
    num_samples: int = 8
    sample_seed: int = 1234
    progress: bool = True
    tensorboard: bool = False
    find_unused_parameters: bool = False
    deterministic: bool = False
    max_seconds: float | None = None
    nonfinite_patience: int = 10

    def __post_init__(self) -> None:
        for name in ("batch_size", "log_every", "keep_checkpoints", "num_samples"):
            _check_int(name, getattr(self, name), minimum=1)
        for name in ("steps", "epochs"):
            if getattr(self, name) is not None:
                _check_int(name, getattr(self, name), minimum=1)
        for name in ("seed", "num_workers", "sample_every", "checkpoint_every", "sample_seed", "nonfinite_patience"):
            _check_int(name, getattr(self, name), minimum=0)
        if self.precision not in PRECISIONS:
            hint = " (fp16 is not offered: use bf16)" if self.precision == "fp16" else ""
            raise ValueError(f"precision: expected one of {list(PRECISIONS)}, got {self.precision!r}{hint}")
        if self.max_seconds is not None and not (
            isinstance(self.max_seconds, (int, float)) and math.isfinite(self.max_seconds) and self.max_seconds > 0
        ):
            raise ValueError(f"max_seconds: expected a positive number of seconds or None, got {self.max_seconds!r}")
        for name in ("channels_last", "compile", "progress", "tensorboard", "find_unused_parameters", "deterministic"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name}: expected True or False, got {getattr(self, name)!r}")

    @classmethod
    def from_config(cls, config: Any, /, **overrides: Any) -> "TrainerConfig":
        """Loop settings from a model config, with explicit overrides only.

        Reads ``train.steps/epochs/batch_size/seed/precision/log_every/sample_every/checkpoint_every`` and
        ``data.num_workers``; DDP looks for unused parameters when ``model.keep_unused_shortcuts`` builds
        some. Every other field keeps its default unless overridden.

        Args:
            config: An [`FFGANConfig`][fusionblocks.ffgan.config.FFGANConfig], its dict form (as stored in
                checkpoints), or ``None`` / an object without a ``train`` section (defaults only: a model that
                is not built from an ``FFGANConfig``).
            **overrides: Any field of this class (``steps=100``, ``device="cpu"``, ...). ``None`` values are
                ignored, so command-line flags that were not given can be passed through unchanged.

        Raises:
            TypeError: an override names no field of this class.
            ConfigError: ``config`` is a mapping with bad keys or values (named with their dotted path).
        """
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise TypeError(f"overrides: unknown trainer setting(s) {unknown}; expected some of {sorted(names)}")
        values: dict[str, Any] = {}
        model_config = _as_model_config(config)
        if model_config is not None:
            train: TrainConfig = model_config.train
            data: DataConfig = model_config.data
            values.update({key: getattr(train, key) for key in SCHEDULE_KEYS})
            values["num_workers"] = data.num_workers
            if model_config.model.keep_unused_shortcuts:
                values["find_unused_parameters"] = True
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def schedule(self) -> dict[str, Any]:
        """The settings the model config's ``train`` section also holds (what a checkpoint's config records)."""
        return {key: getattr(self, key) for key in SCHEDULE_KEYS}


def _as_model_config(config: Any) -> FFGANConfig | None:
    if isinstance(config, FFGANConfig):
        return config
    if isinstance(config, Mapping) and isinstance(config.get("train"), Mapping):
        return FFGANConfig.from_dict(config)
    return None


def _check_int(name: str, value: Any, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        kind = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{name} must be a {kind} int, got {value!r}")
