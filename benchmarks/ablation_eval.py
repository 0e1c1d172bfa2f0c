"""Scoring one trained variant: attribute accuracy from the pixels and DAMSM R-precision, on held-out captions.

Every variant and seed sees the same held-out captions (test split, ``settings.eval_seed``) and the same noise. The
captions follow the training distribution: one- or two-object scenes. Two-object captions state a relation and no
position, so position is measured on the one-object captions and relation on the two-object ones; all-correct is
reported over all captions and over the two-object ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import torch

from .ablation_settings import AblationSettings

__all__ = ["METRICS", "HeldOut", "held_out_set", "build_judge", "judge_metrics", "damsm_rprecision",
           "sample_images", "write_grid"]

#: Every reported metric, in table order.
METRICS: tuple[str, ...] = (
    "color", "shape", "size", "position", "relation", "all_correct", "all_correct_two_objects", "rprec",
)


@dataclass
class HeldOut:
    """The held-out evaluation set shared by every run.

    Attributes:
        captions: The captions the runs generate from (``eval_count``).
        two_objects: Whether each caption's scene has two objects.
        real_images: The test images those captions describe (for the judge's own accuracy).
        pool: Captions the R-precision candidates come from (``captions`` first).
        pool_class: Id of each pool caption's text (identical captions share an id, so no image is ever offered
            its own caption's text as a mismatch).
        noise: The evaluation noise, one row per caption.
        grid_captions: The grid's captions (each repeated ``grid_noises`` times).
        grid_noise: The grid's noise.

    Shapes:
        real_images ``(N, 3, R, R)``; pool_class ``(P,)`` long; noise ``(N, z_dim)``; grid_noise ``(G, z_dim)``.
    """

    captions: list[str]
    two_objects: list[bool]
    real_images: torch.Tensor
    pool: list[str]
    pool_class: torch.Tensor
    noise: torch.Tensor
    grid_captions: list[str]
    grid_noise: torch.Tensor


def _text_ids(captions: Sequence[str]) -> torch.Tensor:
    ids: dict[str, int] = {}
    return torch.tensor([ids.setdefault(c, len(ids)) for c in captions], dtype=torch.long)


def held_out_set(settings: AblationSettings, resolution: int, z_dim: int) -> HeldOut:
    """Draw the held-out set: test-split scenes (one or two objects), their first caption, fixed noise.

    Raises:
        ValueError: the pool has fewer distinct captions than R-precision needs.
    """
    from fusionblocks.data import CaptionedShapes
    from fusionblocks.train.sampling import make_noise

    seed = settings.eval_seed
    data = CaptionedShapes(size=settings.caption_pool, resolution=resolution, split="test", seed=seed,
                           max_objects=2, captions_per_image=1)
    pool = [data.captions(i)[0] for i in range(settings.caption_pool)]
    pool_class = _text_ids(pool)
    distinct = int(pool_class.max()) + 1
    if distinct < settings.rprec_candidates:
        raise ValueError(
            f"caption_pool: {distinct} distinct captions, fewer than rprec_candidates ({settings.rprec_candidates})"
        )
    count = settings.eval_count
    grid = [c for c in pool[: settings.grid_captions] for _ in range(settings.grid_noises)]
    return HeldOut(
        captions=pool[:count],
        two_objects=[len(data.attributes(i).objects) == 2 for i in range(count)],
        real_images=torch.stack([data.render(i) for i in range(count)]),
        pool=pool,
        pool_class=pool_class,
        noise=make_noise(count, z_dim, seed=seed + 1),
        grid_captions=grid,
        grid_noise=make_noise(len(grid), z_dim, seed=seed + 2),
    )


def build_judge(settings: AblationSettings) -> Any:
    """The attribute judge, its shape classifier trained afresh with ``settings.eval_seed`` (deterministic, a few
    CPU seconds), without the library's 64 px self check (the ablation checks the judge at its own resolution)."""
    from fusionblocks.metrics.attribute_judge import AttributeJudge
    from fusionblocks.metrics.shape_classifier import train_shape_classifier

    classifier, report = train_shape_classifier(
        num_train=settings.judge_train_images, num_heldout=settings.judge_heldout_images,
        epochs=settings.judge_epochs, seed=settings.eval_seed,
    )
    return AttributeJudge(classifier, report, self_check_images=0)


def judge_metrics(judge: Any, images: torch.Tensor, held_out: HeldOut) -> tuple[dict[str, float], dict[str, int]]:
    """Attribute accuracies (``color`` … ``all_correct_two_objects``) and how many captions stated each.

    Shapes:
        images ``(N, 3, R, R)`` in ``[-1, 1]``, one per held-out caption.
    """
    verdict = judge(images, held_out.captions)
    if verdict.unparsed or len(verdict.per_image) != len(held_out.captions):
        raise RuntimeError(f"judge: {verdict.unparsed} held-out captions were not understood")
    metrics = {name: float(verdict.accuracy[name]) for name in ("color", "shape", "size", "position", "relation")}
    metrics["all_correct"] = float(verdict.all_correct)
    two = [ok for ok, is_two in zip(verdict.per_image, held_out.two_objects) if is_two]
    metrics["all_correct_two_objects"] = sum(two) / len(two) if two else float("nan")
    stated = {name: int(verdict.stated[name]) for name in ("color", "shape", "size", "position", "relation")}
    stated["all_correct"] = len(verdict.per_image)
    stated["all_correct_two_objects"] = len(two)
    return metrics, stated


def damsm_rprecision(
    images: torch.Tensor, held_out: HeldOut, text_encoder: Any, image_encoder: Any, settings: AblationSettings
) -> float:
    """R-precision of ``images`` with the seed's DAMSM encoders: the true caption among
    ``rprec_candidates - 1`` mismatched pool captions of other text (``fusionblocks.metrics.r_precision``)."""
    from fusionblocks.metrics import r_precision_from_encoders

    count = images.shape[0]
    result = r_precision_from_encoders(
        images, held_out.pool, text_encoder, image_encoder,
        true_caption_index=torch.arange(count),
        image_class_ids=held_out.pool_class[:count], caption_class_ids=held_out.pool_class,
        num_candidates=settings.rprec_candidates, folds=settings.rprec_folds,
        generator=torch.Generator().manual_seed(settings.eval_seed),
    )
    return float(result.mean)


def sample_images(generator: Any, text_encoder: Any, captions: list[str], noise: torch.Tensor) -> torch.Tensor:
    """The generator's final-scale images for ``captions`` with ``noise`` (eval mode, fp32).

    Shapes:
        noise ``(N, z_dim)`` → ``(N, 3, R, R)``.
    """
    from fusionblocks.train.sampling import generate

    out = generate(generator, text_encoder, captions, noise=noise, seed=0, return_attention=False)
    return out.images[-1]


def write_grid(images: torch.Tensor, captions: list[str], path: Path, columns: int) -> Path:
    """Save a captioned grid of ``images``.

    Shapes:
        images ``(G, 3, R, R)``.
    """
    from fusionblocks.train.grids import caption_grid

    path.parent.mkdir(parents=True, exist_ok=True)
    caption_grid(images, captions, columns=columns, path=path)
    return path
