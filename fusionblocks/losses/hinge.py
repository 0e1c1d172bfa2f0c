"""Hinge adversarial losses with the mismatched-pair term (DF-GAN / GALIP; [DF-GAN][ffgan-dfgan])."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import register
from ._common import check_logits
from .outputs import HingeDLoss, HingeGLoss

__all__ = ["hinge_d", "hinge_g", "roll_mismatch", "HingeDiscriminatorLoss", "HingeGeneratorLoss"]


def roll_mismatch(x: torch.Tensor, shifts: int = 1) -> torch.Tensor:
    """Roll the batch circularly so that sample ``i`` receives sample ``i + shifts`` (DF-GAN's mismatch).

    Apply it to the real image features (DF-GAN) or to the sentences (GALIP) before the conditional head.

    Args:
        x: Any tensor with the batch on dim 0.
        shifts: How far to roll (1 in DF-GAN).

    Shapes:
        x: ``(B, ...)``; returns ``(B, ...)`` with ``out[i] = x[(i + shifts) % B]``.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x: expected a torch.Tensor, got {type(x).__name__}")
    if x.ndim == 0:
        raise ValueError("x: expected a tensor with the batch on dim 0, got a 0-D tensor")
    return torch.roll(x, shifts=-shifts, dims=0)


def hinge_d(real: torch.Tensor, fake: torch.Tensor, mismatch: torch.Tensor) -> HingeDLoss:
    """Hinge discriminator loss ``mean relu(1 − real) + ½ (mean relu(1 + fake) + mean relu(1 + mismatch))``.

    Args:
        real: Conditional logits of real images with their own captions.
        fake: Conditional logits of (detached) generated images with their captions.
        mismatch: Conditional logits of mismatched pairs (e.g. real features rolled with
            [`roll_mismatch`][fusionblocks.losses.hinge.roll_mismatch]).

    Returns:
        [`HingeDLoss`][fusionblocks.losses.outputs.HingeDLoss] (add the MA-GP yourself:
        ``L_D = loss + ma_gp(...).loss``).

    Shapes:
        real, fake, mismatch: ``(B,)`` or ``(B, ...)``; returned tensors ``()``.
    """
    real_term = F.relu(1.0 - check_logits(real, "real")).mean()
    fake_term = F.relu(1.0 + check_logits(fake, "fake")).mean()
    mis_term = F.relu(1.0 + check_logits(mismatch, "mismatch")).mean()
    return HingeDLoss(loss=real_term + 0.5 * (fake_term + mis_term), real=real_term, fake=fake_term, mismatch=mis_term)


def hinge_g(fake: torch.Tensor) -> HingeGLoss:
    """Hinge generator loss ``−mean(fake)``.

    Args:
        fake: Conditional logits of generated images (not detached) with their captions.

    Shapes:
        fake: ``(B,)`` or ``(B, ...)``; returns ``()``.
    """
    return HingeGLoss(loss=-check_logits(fake, "fake").mean())


@register("loss", "loss.hinge_d", paper="DF-GAN (CVPR 2022)")
class HingeDiscriminatorLoss(nn.Module):
    """Module wrapper of [`hinge_d`][fusionblocks.losses.hinge.hinge_d].

    Shapes:
        real, fake, mismatch: ``(B, ...)``; returns [`HingeDLoss`][fusionblocks.losses.outputs.HingeDLoss].
    """

    def forward(self, real: torch.Tensor, fake: torch.Tensor, mismatch: torch.Tensor) -> HingeDLoss:
        return hinge_d(real, fake, mismatch)


@register("loss", "loss.hinge_g", paper="DF-GAN (CVPR 2022)")
class HingeGeneratorLoss(nn.Module):
    """Module wrapper of [`hinge_g`][fusionblocks.losses.hinge.hinge_g].

    Shapes:
        fake: ``(B, ...)``; returns [`HingeGLoss`][fusionblocks.losses.outputs.HingeGLoss].
    """

    def forward(self, fake: torch.Tensor) -> HingeGLoss:
        return hinge_g(fake)
