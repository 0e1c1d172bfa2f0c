"""Skip an optimiser step whose gradients hold NaN or Inf, so that one bad batch cannot poison the weights.

[`SkipNonFiniteStep`][fusionblocks.train.finite_step.SkipNonFiniteStep] wraps an optimiser for the recipe: before
each ``step()`` it checks every gradient with one fused reduction (infinity norm; NaN and Inf propagate). A fused
optimiser (``fused=True`` Adam, what the trainer uses on CPU and CUDA) receives the result as its ``found_inf``
flag and skips the update inside its own kernel, without synchronising with the host; any other optimiser is
skipped in Python. Either way the weights, the moments and Adam's step count stay as they were. The flags add up in
a device tensor the trainer reads together with the losses, once per step.
"""

from __future__ import annotations

from typing import Any, Callable

import torch

__all__ = ["SkipNonFiniteStep", "nonfinite_flag", "guard_optimizers"]


def nonfinite_flag(tensors: list[torch.Tensor]) -> torch.Tensor:
    """A 0-d float tensor: 1.0 when any of ``tensors`` holds NaN or Inf, else 0.0 (no host synchronisation).

    Shapes:
        tensors: any shapes (empty ones are ignored) → a 0-d tensor on the first tensor's device.
    """
    floats = [t for t in tensors if t.numel()]
    if not floats:
        return torch.zeros(())
    norms = torch._foreach_norm(floats, float("inf"))
    device = norms[0].device
    return (~torch.isfinite(torch.stack([n.float().to(device) for n in norms]))).any().float()


class SkipNonFiniteStep:
    """An optimiser whose ``step()`` does nothing when a gradient is NaN or Inf; everything else is delegated.

    Args:
        optimizer: The optimiser to guard.

    Attributes:
        skipped: 0-d float tensor: how many steps were skipped since the last
            [`take_skipped`][fusionblocks.train.finite_step.SkipNonFiniteStep.take_skipped].
    """

    def __init__(self, optimizer: torch.optim.Optimizer) -> None:
        self.optimizer = optimizer
        # torch's fused Adam/AdamW read a ``found_inf`` attribute and skip the update in their kernel
        adam = isinstance(optimizer, (torch.optim.Adam, torch.optim.AdamW))
        self.fused = bool(optimizer.defaults.get("fused")) and adam
        self.skipped: torch.Tensor | None = None

    def _grads(self) -> list[torch.Tensor]:
        return [p.grad for group in self.optimizer.param_groups for p in group["params"] if p.grad is not None]

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Check the gradients, then step (or skip)."""
        grads = self._grads()
        if not grads:
            return self.optimizer.step(closure)
        found = nonfinite_flag(grads)
        self.skipped = found if self.skipped is None else self.skipped + found
        if self.fused:
            self.optimizer.found_inf = found  # type: ignore[attr-defined]
            try:
                return self.optimizer.step(closure)
            finally:
                del self.optimizer.found_inf  # type: ignore[attr-defined]
        if bool(found):
            return None
        return self.optimizer.step(closure)

    def take_skipped(self) -> torch.Tensor:
        """The skipped-step count since the last call (a 0-d tensor, not synchronised), and reset it."""
        value = self.skipped if self.skipped is not None else torch.zeros(())
        self.skipped = None
        return value

    def __getattr__(self, name: str) -> Any:
        return getattr(self.optimizer, name)


def guard_optimizers(optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, SkipNonFiniteStep]:
    """Wrap every optimiser of a recipe."""
    return {name: SkipNonFiniteStep(opt) for name, opt in optimizers.items()}
