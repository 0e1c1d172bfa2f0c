"""Custom power-iteration spectral norm in the style of the official code (docs/ffgan.md "Discriminators"). Benchmarks
only.

The wrapped module's ``weight`` is deleted and replaced by three parameters: ``weight_bar`` (trainable) and
``weight_u`` / ``weight_v`` (``requires_grad=False``, so they appear in ``.parameters()``). Every forward call, in
training *and* eval mode, runs one power iteration on the detached weight and sets ``weight = weight_bar / σ``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

__all__ = ["SpectralNorm"]


def l2normalize(v: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """``v / (‖v‖ + eps)``."""
    return v / (v.norm() + eps)


class SpectralNorm(nn.Module):
    """Wrap ``module`` so that its ``name`` weight is divided by its largest singular value (one power iteration).

    Shapes:
        - the wrapped module's own input and output shapes.
    """

    def __init__(self, module: nn.Module, name: str = "weight", power_iterations: int = 1) -> None:
        super().__init__()
        self.module = module
        self.name = name
        self.power_iterations = power_iterations
        w = getattr(module, name)
        height = w.shape[0]
        width = w.view(height, -1).shape[1]
        u = nn.Parameter(l2normalize(w.data.new_empty(height).normal_(0, 1)), requires_grad=False)
        v = nn.Parameter(l2normalize(w.data.new_empty(width).normal_(0, 1)), requires_grad=False)
        w_bar = nn.Parameter(w.data)
        del module._parameters[name]
        module.register_parameter(name + "_u", u)
        module.register_parameter(name + "_v", v)
        module.register_parameter(name + "_bar", w_bar)

    def _update_u_v(self) -> None:
        u = getattr(self.module, self.name + "_u")
        v = getattr(self.module, self.name + "_v")
        w = getattr(self.module, self.name + "_bar")
        height = w.data.shape[0]
        for _ in range(self.power_iterations):
            v.data = l2normalize(torch.mv(torch.t(w.view(height, -1).data), u.data))
            u.data = l2normalize(torch.mv(w.view(height, -1).data, v.data))
        sigma = u.dot(w.view(height, -1).mv(v))
        setattr(self.module, self.name, w / sigma.expand_as(w))

    def forward(self, *args: Any) -> torch.Tensor:
        self._update_u_v()
        return self.module.forward(*args)
