"""Matching-aware gradient penalty (MA-GP) of DF-GAN / GALIP ([DF-GAN][ffgan-dfgan])."""

from __future__ import annotations

from typing import Literal, Sequence

import torch
from torch import nn

from ..registry import register
from ._common import check_gamma, check_logits
from .outputs import MAGPLoss

__all__ = ["ma_gp", "MatchingAwareGradientPenalty", "MAGP_FORMS"]

MAGP_FORMS: tuple[str, ...] = ("joint", "paper")


def ma_gp(
    outputs: torch.Tensor,
    inputs: Sequence[torch.Tensor],
    k: float = 2.0,
    p: float = 6.0,
    form: Literal["joint", "paper"] = "joint",
) -> MAGPLoss:
    """Gradient penalty of the conditional logits w.r.t. the real, matching (image, sentence) pairs.

    ``g = ∂ Σ outputs / ∂ inputs`` (with ``create_graph=True`` so that the penalty is differentiable), then per
    sample ``b``:

    - ``form="joint"`` (DF-GAN code, default): ``k · mean_b ‖concat(g_image_b, g_sentence_b)‖₂ ** p``,
      computed as ``(Σ g²) ** (p / 2)`` (no square root, so a zero gradient gives a finite gradient);
    - ``form="paper"``: ``k · mean_b (‖g_image_b‖₂ + ‖g_sentence_b‖₂) ** p``.

    Args:
        outputs: Conditional logits ``C(D(x), s)`` of the real, matching pairs.
        inputs: The tensors the penalty differentiates against, usually ``(images, sentence)``; each must
            require grad and be used to compute ``outputs``. Any number ≥ 1 is accepted (e.g. CLIP features).
        k: Weight (2 in DF-GAN).
        p: Power (6 in DF-GAN).
        form: ``"joint"`` or ``"paper"``.

    Returns:
        [`MAGPLoss`][fusionblocks.losses.outputs.MAGPLoss] with ``loss`` and the per-sample ``grad_norm`` before the
        power.

    Shapes:
        outputs: ``(B,)`` or ``(B, ...)``; inputs: each ``(B, ...)``; returns loss ``()``, grad_norm ``(B,)``.
    """
    outputs = check_logits(outputs, "outputs")
    if isinstance(inputs, torch.Tensor):
        inputs = (inputs,)
    inputs = tuple(inputs)
    if not inputs:
        raise ValueError("inputs: expected at least one tensor, e.g. (images, sentence)")
    batch = outputs.shape[0]
    for index, tensor in enumerate(inputs):
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"inputs[{index}]: expected a torch.Tensor, got {type(tensor).__name__}")
        if not tensor.requires_grad:
            raise ValueError(f"inputs[{index}]: must require grad (call .requires_grad_() before the discriminator)")
        if tensor.ndim == 0 or tensor.shape[0] != batch:
            raise ValueError(
                f"inputs[{index}]: expected batch size {batch} on dim 0 (like outputs), got shape {tuple(tensor.shape)}"
            )
    k = check_gamma(k, "k")
    p = check_gamma(p, "p")
    if form not in MAGP_FORMS:
        raise ValueError(f"form: expected one of {MAGP_FORMS}, got {form!r}")
    if not outputs.requires_grad:
        raise ValueError("outputs: does not depend on inputs through autograd (requires_grad is False)")

    grads = torch.autograd.grad(outputs.sum(), inputs, create_graph=True, allow_unused=True)
    for index, grad in enumerate(grads):
        if grad is None:
            raise ValueError(f"inputs[{index}]: is not used to compute outputs")
    flat = [grad.reshape(batch, -1) for grad in grads]
    if form == "joint":
        squared = torch.stack([g.pow(2).sum(dim=1) for g in flat]).sum(0)
        penalty = squared.pow(p / 2.0)
        grad_norm = squared.detach().sqrt()
    else:
        norm = sum(torch.linalg.vector_norm(g, dim=1) for g in flat)
        penalty = norm.pow(p)
        grad_norm = norm.detach()
    return MAGPLoss(loss=k * penalty.mean(), grad_norm=grad_norm)


@register("loss", "loss.ma_gp", paper="DF-GAN (CVPR 2022)")
class MatchingAwareGradientPenalty(nn.Module):
    """Module wrapper of ``ma_gp``.

    Args:
        k: Weight.
        p: Power.
        form: ``"joint"`` (DF-GAN code) or ``"paper"``.

    Shapes:
        outputs: ``(B, ...)``; inputs: each ``(B, ...)``; returns [`MAGPLoss`][fusionblocks.losses.outputs.MAGPLoss].
    """

    def __init__(self, k: float = 2.0, p: float = 6.0, form: Literal["joint", "paper"] = "joint") -> None:
        super().__init__()
        self.k = check_gamma(k, "k")
        self.p = check_gamma(p, "p")
        if form not in MAGP_FORMS:
            raise ValueError(f"form: expected one of {MAGP_FORMS}, got {form!r}")
        self.form = form

    def forward(self, outputs: torch.Tensor, inputs: Sequence[torch.Tensor]) -> MAGPLoss:
        return ma_gp(outputs, inputs, k=self.k, p=self.p, form=self.form)

    def extra_repr(self) -> str:
        return f"k={self.k}, p={self.p}, form={self.form!r}"
