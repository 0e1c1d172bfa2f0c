"""Binary cross-entropy stage losses of AttnGAN / DM-GAN / FF-GAN discriminators and generators
([FF-GAN: discriminator loss][ffgan-d-loss], [generator loss][ffgan-g-loss]).

All functions take **logits** (pre-sigmoid) and use ``torch.nn.functional.binary_cross_entropy_with_logits``.
In exact arithmetic this equals the official ``nn.BCELoss(sigmoid(logit), label)``; it stays finite where the
sigmoid saturates (the official ``BCELoss`` clamps ``log`` at −100 there instead). The library's discriminators
output logits. Logits may be ``(N,)`` or carry extra singleton/patch dims; every term is a mean over all elements.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_positive_int
from ..registry import register
from ._common import check_class_ids, check_logits
from .outputs import StageDLoss, StageGLoss

__all__ = ["bce_stage_d", "bce_stage_g", "bce_stage_d_from_heads", "mismatch_pairs", "BCEStageDLoss", "BCEStageGLoss"]


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def mismatch_pairs(
    batch_size: int,
    class_ids: torch.Tensor | Sequence[int] | None = None,
    skip_same_class: bool = False,
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of the "wrong" (mismatched) pairs: real image ``j`` with the caption of sample ``j + 1``.

    As in the official code there are ``B − 1`` pairs (no wrap-around). With ``skip_same_class=True`` and
    ``class_ids`` given, pairs whose two samples share a class are dropped (the official code keeps them).

    Args:
        batch_size: ``B``.
        class_ids: Optional class of each sample (needed by ``skip_same_class``).
        skip_same_class: Drop pairs of the same class.
        device: Device of the returned indices (default: that of ``class_ids``, else CPU).

    Returns:
        ``(image_index, caption_index)``, two long tensors of equal length ``P ≤ B − 1``.

    Shapes:
        class_ids: ``(B,)``; returns two ``(P,)`` long tensors.
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    if device is None:
        device = class_ids.device if isinstance(class_ids, torch.Tensor) else torch.device("cpu")
    class_ids = check_class_ids(class_ids, "class_ids", batch_size, torch.device(device))
    if skip_same_class and class_ids is None:
        raise ValueError("class_ids: skip_same_class=True needs the class id of every sample")
    image_index = torch.arange(batch_size - 1, device=device)
    caption_index = image_index + 1
    if skip_same_class and class_ids is not None:
        keep = class_ids[image_index] != class_ids[caption_index]
        image_index, caption_index = image_index[keep], caption_index[keep]
    return image_index, caption_index


def bce_stage_d(
    real_cond: torch.Tensor,
    fake_cond: torch.Tensor,
    wrong_cond: torch.Tensor,
    real_uncond: torch.Tensor | None = None,
    fake_uncond: torch.Tensor | None = None,
) -> StageDLoss:
    """Discriminator loss of one stage with the mismatched-caption term.

    With an unconditional head: ``½ (real_u + cond_real) + ⅓ (fake_u + cond_fake + cond_wrong)``;
    without one: ``cond_real + ½ (cond_fake + cond_wrong)``, where ``cond_real = BCE(real_cond, 1)``,
    ``cond_fake = BCE(fake_cond, 0)``, ``cond_wrong = BCE(wrong_cond, 0)``, ``real_u = BCE(real_uncond, 1)`` and
    ``fake_u = BCE(fake_uncond, 0)``. An empty ``wrong_cond`` (no mismatched pair, e.g. ``B = 1`` or every
    pair skipped) gives ``cond_wrong = 0``.

    Args:
        real_cond: Conditional logits of real images with their own captions.
        fake_cond: Conditional logits of (detached) generated images with their captions.
        wrong_cond: Conditional logits of real images with mismatched captions (see
            [`mismatch_pairs`][fusionblocks.losses.bce.mismatch_pairs]).
        real_uncond: Unconditional logits of real images, or ``None`` without an unconditional head.
        fake_uncond: Unconditional logits of generated images (given together with ``real_uncond``).

    Returns:
        [`StageDLoss`][fusionblocks.losses.outputs.StageDLoss].

    Shapes:
        real_cond, fake_cond, real_uncond, fake_uncond: ``(B,)`` or ``(B, ...)``; wrong_cond: ``(P,)`` or
        ``(P, ...)`` with ``P ≥ 0``. Every returned tensor is ``()``.
    """
    real_cond = check_logits(real_cond, "real_cond")
    fake_cond = check_logits(fake_cond, "fake_cond")
    if not isinstance(wrong_cond, torch.Tensor):
        raise TypeError(f"wrong_cond: expected a torch.Tensor, got {type(wrong_cond).__name__}")
    if (real_uncond is None) != (fake_uncond is None):
        missing = "fake_uncond" if fake_uncond is None else "real_uncond"
        raise ValueError(f"{missing}: give both real_uncond and fake_uncond (an unconditional head) or neither")
    cond_real = _bce(real_cond, 1.0)
    cond_fake = _bce(fake_cond, 0.0)
    if wrong_cond.numel() == 0:
        cond_wrong = real_cond.new_zeros(())
    else:
        cond_wrong = _bce(check_logits(wrong_cond, "wrong_cond"), 0.0)
    if real_uncond is None:
        loss = cond_real + 0.5 * (cond_fake + cond_wrong)
        return StageDLoss(loss=loss, cond_real=cond_real, cond_fake=cond_fake, cond_wrong=cond_wrong)
    real_u = _bce(check_logits(real_uncond, "real_uncond"), 1.0)
    fake_u = _bce(check_logits(fake_uncond, "fake_uncond"), 0.0)
    loss = 0.5 * (real_u + cond_real) + (fake_u + cond_fake + cond_wrong) / 3.0
    return StageDLoss(
        loss=loss, cond_real=cond_real, cond_fake=cond_fake, cond_wrong=cond_wrong, real_uncond=real_u,
        fake_uncond=fake_u,
    )


def bce_stage_d_from_heads(
    real_features: torch.Tensor,
    fake_features: torch.Tensor,
    sentence: torch.Tensor,
    cond_head: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    uncond_head: Callable[[torch.Tensor], torch.Tensor] | None = None,
    class_ids: torch.Tensor | Sequence[int] | None = None,
    skip_same_class: bool = False,
) -> StageDLoss:
    """[`bce_stage_d`][fusionblocks.losses.bce.bce_stage_d] from discriminator trunk features and its heads (the
    official call pattern).

    Calls ``cond_head(features, sentence)`` for the real, fake and mismatched pairs
    ([`mismatch_pairs`][fusionblocks.losses.bce.mismatch_pairs]) and ``uncond_head(features)`` for real and fake.
    Detach the generated images
    (or their features) before calling, as the official D step does.

    Args:
        real_features: Trunk features of the real images.
        fake_features: Trunk features of the generated images (detached).
        sentence: Sentence vectors (the condition).
        cond_head: ``(features (N, ...), sentence (N, D)) -> logits (N, ...)``.
        uncond_head: ``features (N, ...) -> logits (N, ...)``, or ``None``.
        class_ids: Optional class ids (for ``skip_same_class``).
        skip_same_class: Drop mismatched pairs whose samples share a class.

    Returns:
        [`StageDLoss`][fusionblocks.losses.outputs.StageDLoss].

    Shapes:
        real_features, fake_features: ``(B, C, h, w)``; sentence: ``(B, D)``; class_ids: ``(B,)``.
    """
    batch = real_features.shape[0]
    if fake_features.shape[0] != batch or sentence.shape[0] != batch:
        raise ValueError(
            "fake_features: batch size mismatch (real_features="
            f"{batch}, fake_features={fake_features.shape[0]}, sentence={sentence.shape[0]})"
        )
    image_index, caption_index = mismatch_pairs(batch, class_ids, skip_same_class, device=real_features.device)
    real_cond = cond_head(real_features, sentence)
    fake_cond = cond_head(fake_features, sentence)
    if image_index.numel():
        wrong_cond = cond_head(real_features[image_index], sentence[caption_index])
    else:
        wrong_cond = real_cond.new_zeros((0,))
    real_uncond = uncond_head(real_features) if uncond_head is not None else None
    fake_uncond = uncond_head(fake_features) if uncond_head is not None else None
    return bce_stage_d(real_cond, fake_cond, wrong_cond, real_uncond, fake_uncond)


def bce_stage_g(fake_cond: torch.Tensor, fake_uncond: torch.Tensor | None = None) -> StageGLoss:
    """Non-saturating generator loss of one stage: ``BCE(fake_uncond, 1) + BCE(fake_cond, 1)`` (no ½).

    Args:
        fake_cond: Conditional logits of the generated images (not detached) with their captions.
        fake_uncond: Unconditional logits, or ``None`` without an unconditional head.

    Returns:
        [`StageGLoss`][fusionblocks.losses.outputs.StageGLoss].

    Shapes:
        fake_cond, fake_uncond: ``(B,)`` or ``(B, ...)``; returned tensors ``()``.
    """
    cond = _bce(check_logits(fake_cond, "fake_cond"), 1.0)
    if fake_uncond is None:
        return StageGLoss(loss=cond, cond=cond)
    uncond = _bce(check_logits(fake_uncond, "fake_uncond"), 1.0)
    return StageGLoss(loss=cond + uncond, cond=cond, uncond=uncond)


@register("loss", "loss.bce_stage_d", paper="AttnGAN / DM-GAN / FF-GAN")
class BCEStageDLoss(nn.Module):
    """Module wrapper of [`bce_stage_d`][fusionblocks.losses.bce.bce_stage_d] (logits in,
    [`StageDLoss`][fusionblocks.losses.outputs.StageDLoss] out).

    Shapes:
        real_cond, fake_cond, real_uncond, fake_uncond: ``(B, ...)``; wrong_cond: ``(P, ...)``.
    """

    def forward(
        self,
        real_cond: torch.Tensor,
        fake_cond: torch.Tensor,
        wrong_cond: torch.Tensor,
        real_uncond: torch.Tensor | None = None,
        fake_uncond: torch.Tensor | None = None,
    ) -> StageDLoss:
        return bce_stage_d(real_cond, fake_cond, wrong_cond, real_uncond, fake_uncond)


@register("loss", "loss.bce_stage_g", paper="AttnGAN / DM-GAN / FF-GAN")
class BCEStageGLoss(nn.Module):
    """Module wrapper of [`bce_stage_g`][fusionblocks.losses.bce.bce_stage_g].

    Shapes:
        fake_cond, fake_uncond: ``(B, ...)``; returns [`StageGLoss`][fusionblocks.losses.outputs.StageGLoss].
    """

    def forward(self, fake_cond: torch.Tensor, fake_uncond: torch.Tensor | None = None) -> StageGLoss:
        return bce_stage_g(fake_cond, fake_uncond)
