"""Spectral-norm helpers around ``torch.nn.utils.parametrizations.spectral_norm``
([FF-GAN: discriminators][ffgan-discriminators])."""

from __future__ import annotations

from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

__all__ = ["conv2d", "conv_lrelu", "resync_spectral_norm", "has_spectral_norm"]


def conv2d(
    in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0, *,
    bias: bool = True, sn: bool = True,
) -> nn.Conv2d:
    """A Conv2d, spectrally normalised through ``parametrizations.spectral_norm`` when ``sn``.

    Shapes:
        ``(B, in_channels, H, W)`` → ``(B, out_channels, H', W')``.
    """
    conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=bias)
    if sn:
        spectral_norm(conv)  # registers the parametrization on conv itself
    return conv


def conv_lrelu(
    in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0, *, sn: bool = True
) -> nn.Sequential:
    """``Sequential(conv (with bias, SN), LeakyReLU(0.2))``: the official ``downBlock``/``Block3x3_leakRelu``.

    Shapes:
        ``(B, in_channels, H, W)`` → ``(B, out_channels, H', W')``.
    """
    return nn.Sequential(
        conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=True, sn=sn),
        nn.LeakyReLU(0.2),
    )


def has_spectral_norm(module: nn.Module) -> bool:
    """Whether ``module.weight`` is spectrally normalised by a parametrization."""
    return parametrize.is_parametrized(module, "weight") and any(
        hasattr(p, "_u") and hasattr(p, "_v") for p in _weight_parametrizations(module)
    )


def _weight_parametrizations(module: nn.Module) -> parametrize.ParametrizationList:
    """``module.parametrizations.weight`` (the list of parametrizations of a parametrized ``weight``)."""
    return cast(parametrize.ParametrizationList, module.get_submodule("parametrizations.weight"))


def spectral_norm_original(module: nn.Module) -> torch.Tensor:
    """The raw weight under a spectral-norm parametrization (``parametrizations.weight.original``)."""
    original: torch.Tensor = _weight_parametrizations(module).original
    return original


@torch.no_grad()
def resync_spectral_norm(module: nn.Module, n_iterations: int = 15) -> int:
    """Re-estimate the power-iteration vectors ``_u``/``_v`` of every spectral-normed weight under ``module``.

    Call after overwriting ``parametrizations.weight.original`` (e.g. with a custom init), so that σ is estimated
    for the new weight rather than the old one. Returns the number of weights re-synced.
    """
    count = 0
    for sub in module.modules():
        if not has_spectral_norm(sub):
            continue
        weight = spectral_norm_original(sub)
        parametrizations: list[Any] = list(_weight_parametrizations(sub))
        for p in parametrizations:
            if not (hasattr(p, "_u") and hasattr(p, "_v")):
                continue
            matrix = weight.flatten(1) if p.dim == 0 else weight.movedim(p.dim, 0).flatten(1)
            u = F.normalize(torch.randn_like(p._u), dim=0, eps=p.eps)
            for _ in range(n_iterations):
                v = F.normalize(matrix.t() @ u, dim=0, eps=p.eps)
                u = F.normalize(matrix @ v, dim=0, eps=p.eps)
            p._u.copy_(u)
            p._v.copy_(v)
            count += 1
    return count
