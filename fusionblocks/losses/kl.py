"""KL divergence of the conditioning augmentation ``N(μ, σ²)`` to ``N(0, I)`` ([FF-GAN: KL term][ffgan-kl])."""

from __future__ import annotations

import torch
from torch import nn

from .._checks import check_tensor
from ..registry import register
from .outputs import KLLoss

__all__ = ["kl_ca", "KLDivergenceLoss"]


def kl_ca(mu: torch.Tensor, logvar: torch.Tensor) -> KLLoss:
    """``−½ · mean(1 + logvar − μ² − exp(logvar))`` over the batch **and** the dimensions (official form).

    This is a mean, not the per-sample sum: the usual per-sample KL divided by the number of dimensions.

    Args:
        mu: Means of the conditioning distribution.
        logvar: Log-variances.

    Shapes:
        mu, logvar: ``(B, C)`` (any equal shapes); returns loss ``()``.
    """
    mu = check_tensor(mu, "mu")
    logvar = check_tensor(logvar, "logvar")
    if mu.shape != logvar.shape:
        raise ValueError(f"logvar: expected the shape of mu {tuple(mu.shape)}, got {tuple(logvar.shape)}")
    if mu.numel() == 0:
        raise ValueError(f"mu: expected a non-empty tensor, got shape {tuple(mu.shape)}")
    return KLLoss(loss=-0.5 * torch.mean(1.0 + logvar - mu.pow(2) - logvar.exp()))


@register("loss", "loss.kl_ca", paper="StackGAN / AttnGAN / FF-GAN")
class KLDivergenceLoss(nn.Module):
    """Module wrapper of [`kl_ca`][fusionblocks.losses.kl.kl_ca].

    Shapes:
        mu, logvar: ``(B, C)``; returns [`KLLoss`][fusionblocks.losses.outputs.KLLoss].
    """

    def forward(self, mu: torch.Tensor, logvar: torch.Tensor) -> KLLoss:
        return kl_ca(mu, logvar)
