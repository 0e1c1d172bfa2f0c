"""Exponential moving average of a model's weights, including its buffers ([FF-GAN: training recipe][ffgan-training]).

The official FF-GAN trainer averages parameters only and then saves the averaged weights next to the *live*
BatchNorm running statistics. Here the buffers (BatchNorm running mean/var, counters) are copied from the live
model at every update, so the EMA model is a consistent network whose statistics belong to the same run.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

__all__ = ["ModelEMA"]


class ModelEMA(nn.Module):
    """Keeps ``shadow`` ← ``decay·shadow + (1 − decay)·model`` for parameters; copies buffers.

    Args:
        model: The live model (unwrapped, not DDP). A frozen deep copy becomes the EMA model.
        decay: Weight of the old average, in ``[0, 1)``; 0.999 in FF-GAN.

    Attributes:
        module: The EMA copy (eval mode, no gradients). Use it for sampling and checkpoints.

    Example:
        >>> ema = ModelEMA(generator, decay=0.999)
        >>> ema.update(generator)   # after each optimiser step
    """

    def __init__(self, model: nn.Module, decay: float = 0.999) -> None:
        super().__init__()
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
        if not isinstance(decay, (int, float)) or not 0.0 <= float(decay) < 1.0:
            raise ValueError(f"decay must be a float in [0, 1), got {decay!r}")
        self.decay = float(decay)
        self.module = copy.deepcopy(model)
        self.module.eval()
        self.module.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Blend ``model``'s parameters into the average and copy its buffers.

        Args:
            model: The live model; must have the same parameter and buffer names as the EMA copy.
        """
        live_params = dict(model.named_parameters())
        ema_params = dict(self.module.named_parameters())
        if live_params.keys() != ema_params.keys():
            missing = sorted(set(ema_params) ^ set(live_params))[:5]
            raise ValueError(f"model: parameter names differ from the EMA copy's (e.g. {missing})")
        shadows: list[torch.Tensor] = [ema_params[k] for k in ema_params]
        lives = [live_params[k].detach().to(ema_params[k].dtype) for k in ema_params]
        if shadows:
            torch._foreach_lerp_(shadows, lives, 1.0 - self.decay)
        live_buffers = dict(model.named_buffers())
        for name, buf in self.module.named_buffers():
            if name not in live_buffers:
                raise ValueError(f"model: buffer {name!r} is missing from the live model")
            buf.copy_(live_buffers[name])

    def forward(self, *args, **kwargs):  # noqa: D102 - delegate to the EMA model
        return self.module(*args, **kwargs)
