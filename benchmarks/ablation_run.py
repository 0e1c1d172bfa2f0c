"""One (variant, seed) run of the ablation: build, train for the CPU budget, score, write ``result.json``.

A run folder with a ``result.json`` made with the same settings is reused; one without (an interrupted run) is
removed and trained again, since its CPU accounting died with the process.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .ablation_budget import ForwardTimer, StepClock, train_within_budget
from .ablation_eval import HeldOut, damsm_rprecision, judge_metrics, sample_images, write_grid
from .ablation_settings import AblationSettings, AblationUsageError
from .ablation_variants import PRESET, Variant, variant_overrides
from .recorded_settings import with_field_defaults

__all__ = ["SeedContext", "run_variant", "RESULT_FILE"]

RESULT_FILE = "result.json"


@dataclass
class SeedContext:
    """What every run of one seed shares.

    Attributes:
        seed: The training seed.
        folder: ``OUT/seed_<seed>``.
        damsm_values: Placeholder values pointing at the seed's DAMSM encoders.
        evaluator: The seed's DAMSM ``(text_encoder, image_encoder)`` for R-precision.
    """

    seed: int
    folder: Path
    damsm_values: dict[str, Any]
    evaluator: tuple[Any, Any]


def _reusable(path: Path, settings: AblationSettings, clip_weights: str | None) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    record = json.loads(path.read_text())
    wanted = {"settings": settings.run_dict(), "clip_weights": clip_weights}
    stored = record.get("settings")  # written before a settings field existed: it ran at that field's default
    got = {"settings": with_field_defaults(stored, AblationSettings) if isinstance(stored, dict) else stored,
           "clip_weights": record.get("clip_weights")}
    if got != wanted:
        raise AblationUsageError(
            f"--out: {path.parent} was made with other settings; use another --out or remove that folder"
        )
    return record


def _write_json(path: Path, data: dict[str, Any]) -> None:
    from fusionblocks.metrics.report import json_safe

    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(json_safe(data), indent=2, allow_nan=False) + "\n")
    os.replace(tmp, path)


def _build(variant: Variant, ctx: SeedContext, settings: AblationSettings, clip_weights: str | None) -> Any:
    from fusionblocks.ffgan import build_ffgan
    from fusionblocks.train.rng import seed_everything

    values = {**ctx.damsm_values, "clip_weights": clip_weights}
    extra = {"train.batch_size": settings.batch_size, "train.seed": ctx.seed}
    seed_everything(ctx.seed)
    return build_ffgan(PRESET, **variant_overrides(variant, values, extra, relations=settings.damsm_relations))


def _train(gan: Any, folder: Path, settings: AblationSettings, ctx: SeedContext, held_out: HeldOut) -> tuple[Any, Any]:
    from fusionblocks.train import Trainer
    from fusionblocks.train.datasets import build_dataset

    dataset = build_dataset(gan.config, split="train", seed=ctx.seed)
    timer = ForwardTimer(gan.text_encoder)
    clock = StepClock(timer, charge_text=settings.charge_text)
    trainer = Trainer(
        gan, dataset, folder, sample_captions=held_out.grid_captions[:: settings.grid_noises], device="cpu",
        log_every=1, sample_every=0, checkpoint_every=0, keep_checkpoints=1, progress=False, loggers=[clock],
    )
    try:
        budget = train_within_budget(
            trainer, clock, settings.cpu_seconds, calibration_steps=settings.calibration_steps,
            warmup_steps=settings.warmup_steps, max_steps=settings.max_steps,
        )
    finally:
        timer.remove()
    return trainer.sampling_generator, budget


def _score(generator: Any, text_encoder: Any, folder: Path, ctx: SeedContext, held_out: HeldOut, judge: Any,
           settings: AblationSettings) -> tuple[dict[str, float], dict[str, int]]:
    images = sample_images(generator, text_encoder, held_out.captions, held_out.noise)
    metrics, stated = judge_metrics(judge, images, held_out)
    metrics["rprec"] = damsm_rprecision(images, held_out, *ctx.evaluator, settings)
    grid = sample_images(generator, text_encoder, held_out.grid_captions, held_out.grid_noise)
    write_grid(grid, held_out.grid_captions, folder / "grid.png", columns=4 * settings.grid_noises)
    return metrics, stated


def run_variant(
    variant: Variant,
    ctx: SeedContext,
    settings: AblationSettings,
    held_out: HeldOut,
    judge: Any,
    clip_weights: str | None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train and score ``variant`` for ``ctx.seed`` in ``OUT/seed_<seed>/<variant>`` (or reuse a finished run).

    Returns:
        The run record (also ``result.json``): ``variant``, ``seed``, ``metrics``, ``stated``, ``cost``,
        ``settings``, ``clip_weights``, ``grid`` (path relative to the seed folder's parent).

    Raises:
        AblationUsageError: the folder holds a finished run made with other settings.
    """
    folder = ctx.folder / variant.name
    done = _reusable(folder / RESULT_FILE, settings, clip_weights)
    if done is not None:
        log(f"[ablation] seed {ctx.seed} {variant.name}: reusing {folder / RESULT_FILE}")
        return done
    if folder.exists():
        log(f"[ablation] seed {ctx.seed} {variant.name}: restarting an unfinished run in {folder}")
        shutil.rmtree(folder)
    wall0 = time.perf_counter()
    gan = _build(variant, ctx, settings, clip_weights)
    parameters = gan.num_parameters()
    generator, budget = _train(gan, folder, settings, ctx, held_out)
    cpu0, eval0 = time.process_time(), time.perf_counter()
    metrics, stated = _score(generator, gan.text_encoder, folder, ctx, held_out, judge, settings)
    cost = {
        **budget.to_dict(),
        "eval_cpu_seconds": time.process_time() - cpu0,
        "eval_wall_seconds": time.perf_counter() - eval0,
        "run_wall_seconds": time.perf_counter() - wall0,
        "generator_parameters": parameters["generator"],
        "discriminator_parameters": parameters["discriminators"],
    }
    record = {
        "variant": variant.name, "seed": ctx.seed, "metrics": metrics, "stated": stated, "cost": cost,
        "settings": settings.run_dict(), "clip_weights": clip_weights,
        "grid": f"{ctx.folder.name}/{variant.name}/grid.png",
    }
    _write_json(folder / RESULT_FILE, record)
    log(f"[ablation] seed {ctx.seed} {variant.name}: {budget.steps} steps, {budget.charged_cpu_seconds:.1f} charged "
        f"CPU s (+{budget.text_cpu_seconds:.1f} text), {budget.fit_wall_seconds:.0f} s wall; "
        f"all-correct {metrics['all_correct']:.0%}, relation {metrics['relation']:.0%}, "
        f"R-precision {metrics['rprec']:.0%}")
    return record
