"""The ablation's knobs: the full experiment's defaults and the ``--quick`` smoke-test sizes."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

__all__ = ["AblationUsageError", "AblationSettings", "FULL", "QUICK"]


class AblationUsageError(ValueError):
    """A bad command-line value or an output folder that cannot be reused; the message names the argument."""


@dataclass(frozen=True)
class AblationSettings:
    """Sizes and budgets of one ablation run (recorded in every result; a reused run must match them).

    Attributes:
        cpu_seconds: Training budget of every (variant, seed) run, in process CPU seconds (see ``charge_text``).
        calibration_steps: Steps trained first to measure CPU seconds per step.
        warmup_steps: First steps left out of that measurement (allocator and autocast warm-up).
        max_steps: Cap on a run's steps (None: the budget alone decides).
        charge_text: Count the frozen text encoder's forward passes in the budget. Off by default: they are a
            per-caption pre-processing cost, the same for every architecture fed by one encoder, and a 63 M
            parameter CLIP transformer would otherwise leave its variant a few dozen steps.
        batch_size: GAN batch size.
        damsm_steps: DAMSM pre-training steps per seed.
        damsm_batch_size: DAMSM pre-training batch size.
        damsm_negatives: Hard-negative captions per image in DAMSM pre-training.
        damsm_lr: DAMSM pre-training learning rate.
        damsm_relations: Relation-aware DAMSM encoders: the image code from the flattened last stage
            (``code_pooling="flatten"``) and each relation caption's mirrored caption as its first hard negative.
            Off in the documented table (records written before the option existed ran with it off).
        eval_count: Held-out captions each run generates and is judged on.
        caption_pool: Held-out captions the R-precision candidates are drawn from (>= rprec_candidates distinct).
        rprec_candidates: R-precision candidates per image (the true caption and ``rprec_candidates - 1``
            mismatched ones).
        rprec_folds: R-precision folds.
        grid_captions: Captions in each variant's sample grid.
        grid_noises: Noise vectors per grid caption.
        judge_train_images: Training crops of the judge's shape classifier (trained afresh, deterministically, by
            every invocation: parallel invocations on one output folder then share nothing but their seed folders).
        judge_heldout_images: Held-out crops its accuracy is reported on.
        judge_epochs: Its training epochs.
        eval_seed: Seed of the held-out captions, the evaluation noise and the R-precision draws (the same for
            every variant and training seed).
    """

    cpu_seconds: float = 180.0
    calibration_steps: int = 20
    warmup_steps: int = 5
    max_steps: int | None = None
    charge_text: bool = False
    batch_size: int = 16
    damsm_steps: int = 1500
    damsm_batch_size: int = 32
    damsm_negatives: int = 4
    damsm_lr: float = 2e-3
    damsm_relations: bool = False
    eval_count: int = 500
    caption_pool: int = 1000
    rprec_candidates: int = 100
    rprec_folds: int = 10
    grid_captions: int = 8
    grid_noises: int = 2
    judge_train_images: int = 900
    judge_heldout_images: int = 300
    judge_epochs: int = 8
    eval_seed: int = 0

    def __post_init__(self) -> None:
        if not (isinstance(self.cpu_seconds, (int, float)) and math.isfinite(self.cpu_seconds)
                and self.cpu_seconds > 0):
            raise ValueError(f"cpu_seconds: expected a positive number of CPU seconds, got {self.cpu_seconds!r}")
        for name in ("calibration_steps", "batch_size", "damsm_steps", "damsm_batch_size", "eval_count",
                     "caption_pool", "rprec_candidates", "rprec_folds", "grid_captions", "grid_noises",
                     "judge_train_images", "judge_heldout_images", "judge_epochs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected a positive integer, got {value!r}")
        if not isinstance(self.damsm_relations, bool):
            raise ValueError(f"damsm_relations: expected a bool, got {self.damsm_relations!r}")
        if not 0 <= self.warmup_steps < self.calibration_steps:
            raise ValueError(
                f"warmup_steps: expected 0 <= warmup_steps < calibration_steps ({self.calibration_steps}), "
                f"got {self.warmup_steps!r}"
            )
        if self.max_steps is not None and self.max_steps < self.calibration_steps:
            raise ValueError(f"max_steps: expected None or >= calibration_steps, got {self.max_steps!r}")
        if self.rprec_folds > self.eval_count:
            raise ValueError(f"rprec_folds: expected at most eval_count ({self.eval_count}), got {self.rprec_folds}")
        if self.caption_pool < max(self.eval_count, self.rprec_candidates):
            raise ValueError(
                f"caption_pool: expected at least eval_count and rprec_candidates "
                f"({max(self.eval_count, self.rprec_candidates)}), got {self.caption_pool}"
            )
        if self.grid_captions > self.eval_count:
            raise ValueError(
                f"grid_captions: expected at most eval_count ({self.eval_count}), got {self.grid_captions}"
            )

    def replace(self, **changes: Any) -> "AblationSettings":
        """A copy with ``changes`` (checked again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dataclasses.asdict(self)

    def damsm_dict(self) -> dict[str, Any]:
        """The settings the seed's DAMSM encoders depend on (a reused encoder folder must match them)."""
        keys = ("damsm_steps", "damsm_batch_size", "damsm_negatives", "damsm_lr", "damsm_relations")
        return {k: getattr(self, k) for k in keys}

    def run_dict(self) -> dict[str, Any]:
        """The settings a (variant, seed) run depends on (a reused run must match them)."""
        return self.to_dict()


#: The documented experiment.
FULL = AblationSettings()

#: ``--quick``: checks the script end to end in about a minute; its numbers mean nothing.
QUICK = AblationSettings(
    cpu_seconds=1.0,
    calibration_steps=2,
    warmup_steps=1,
    max_steps=5,
    batch_size=4,
    damsm_steps=10,
    damsm_batch_size=8,
    damsm_negatives=2,
    eval_count=12,
    caption_pool=120,
    rprec_folds=4,
    grid_captions=4,
    grid_noises=2,
    judge_train_images=240,
    judge_heldout_images=60,
    judge_epochs=2,
)
