"""DM-GAN's weight initialisation, used by the official FF-GAN ([FF-GAN: weight initialisation][ffgan-init]), without
its Python-2 hacks."""

from __future__ import annotations

import torch
from torch import nn

from .spectral import has_spectral_norm, resync_spectral_norm, spectral_norm_original

__all__ = ["official_init"]

_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
_NORM = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


@torch.no_grad()
def official_init(module: nn.Module) -> nn.Module:
    """Initialise ``module`` in place like DM-GAN's ``weights_init`` and return it.

    - Conv layers: orthogonal weight, gain 1 (biases keep PyTorch's default). For a spectral-normed conv the
      unnormalised weight ``parametrizations.weight.original`` is initialised, and the power-iteration vectors
      are then re-estimated for it.
    - BatchNorm: weight ~ N(1, 0.02), bias 0.
    - Linear: orthogonal weight, bias 0.

    Apply it to generators and discriminators only: encoders are loaded from checkpoints, and DF-GAN's identity
    init of its affine layers must be kept (DF-GAN uses PyTorch's default init).
    """
    for sub in module.modules():
        if isinstance(sub, _CONV):
            weight = spectral_norm_original(sub) if has_spectral_norm(sub) else sub.weight
            nn.init.orthogonal_(weight, gain=1.0)
        elif isinstance(sub, _NORM):
            if sub.weight is not None:
                sub.weight.normal_(1.0, 0.02)
                sub.bias.zero_()
        elif isinstance(sub, nn.Linear):
            nn.init.orthogonal_(sub.weight, gain=1.0)
            if sub.bias is not None:
                sub.bias.zero_()
    resync_spectral_norm(module)
    return module
