"""Return types of the losses: small dataclasses, each with a scalar ``loss`` to call ``backward`` on.

Every loss function in ``fusionblocks.losses`` returns one of these, and so does its registered
``nn.Module`` wrapper. The individual terms stay available for logging.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["DAMSMLoss", "StageDLoss", "StageGLoss", "HingeDLoss", "HingeGLoss", "MAGPLoss", "KLLoss"]


@dataclass
class DAMSMLoss:
    """DAMSM word- or sentence-level matching loss ([FF-GAN: DAMSM losses][ffgan-damsm-losses]).

    Attributes:
        loss0: Cross-entropy over the rows of ``scores``: each image picks its caption.
        loss1: Cross-entropy over the columns of ``scores``: each caption picks its image.
        scores: Matching scores, rows = images, columns = captions (``γ3``-scaled, class-masked
            entries are ``-inf``).
        attention: Word loss only: the word → region attention of each caption over its own image,
            zero at padded words; ``None`` for the sentence loss.
        negative_scores: With hard negatives: the score of each image against each of its own hard-negative
            captions (``γ3``-scaled, the extra candidates of ``loss0``); ``None`` otherwise.

    Shapes:
        loss0, loss1: ``()``; scores: ``(B, B)``; attention: ``(B, T, h, w)`` or ``None``;
        negative_scores: ``(B, K)`` or ``None``.
    """

    loss0: torch.Tensor
    loss1: torch.Tensor
    scores: torch.Tensor
    attention: torch.Tensor | None = None
    negative_scores: torch.Tensor | None = None

    @property
    def loss(self) -> torch.Tensor:
        """``loss0 + loss1`` (the official DAMSM term before the weight λ)."""
        return self.loss0 + self.loss1


@dataclass
class StageDLoss:
    """BCE discriminator loss of one FF-GAN/AttnGAN stage ([FF-GAN: discriminator loss][ffgan-d-loss]).

    Attributes:
        loss: The combined loss (see [`fusionblocks.losses.bce_stage_d`][fusionblocks.losses.bce.bce_stage_d]).
        cond_real, cond_fake, cond_wrong: Conditional BCE terms.
        real_uncond, fake_uncond: Unconditional BCE terms, ``None`` without an unconditional head.

    Shapes:
        every tensor: ``()``.
    """

    loss: torch.Tensor
    cond_real: torch.Tensor
    cond_fake: torch.Tensor
    cond_wrong: torch.Tensor
    real_uncond: torch.Tensor | None = None
    fake_uncond: torch.Tensor | None = None


@dataclass
class StageGLoss:
    """Non-saturating BCE generator loss of one stage ([FF-GAN: generator loss][ffgan-g-loss]).

    Attributes:
        loss: ``cond + uncond`` (no ½).
        cond: BCE of the conditional logits against 1.
        uncond: BCE of the unconditional logits against 1, ``None`` without an unconditional head.

    Shapes:
        every tensor: ``()``.
    """

    loss: torch.Tensor
    cond: torch.Tensor
    uncond: torch.Tensor | None = None


@dataclass
class HingeDLoss:
    """DF-GAN hinge discriminator loss ([DF-GAN][ffgan-dfgan]).

    Attributes:
        loss: ``real + ½ (fake + mismatch)``.
        real, fake, mismatch: The three hinge terms.

    Shapes:
        every tensor: ``()``.
    """

    loss: torch.Tensor
    real: torch.Tensor
    fake: torch.Tensor
    mismatch: torch.Tensor


@dataclass
class HingeGLoss:
    """DF-GAN generator loss ``−mean C(D(x̂), s)`` ([DF-GAN][ffgan-dfgan]).

    Shapes:
        loss: ``()``.
    """

    loss: torch.Tensor


@dataclass
class MAGPLoss:
    """Matching-aware gradient penalty ([DF-GAN][ffgan-dfgan]).

    Attributes:
        loss: ``k · mean_b norm_b ** p``.
        grad_norm: The per-sample norm that was raised to ``p`` (joint: the norm of the concatenated
            gradients; paper: the sum of the per-input norms).

    Shapes:
        loss: ``()``; grad_norm: ``(B,)``.
    """

    loss: torch.Tensor
    grad_norm: torch.Tensor


@dataclass
class KLLoss:
    """KL divergence of the conditioning augmentation to N(0, I), averaged ([FF-GAN: KL term][ffgan-kl]).

    Shapes:
        loss: ``()``.
    """

    loss: torch.Tensor
