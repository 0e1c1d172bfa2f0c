"""The one precision vocabulary of the config (``train.precision``), the trainer and the command line."""

from __future__ import annotations

__all__ = ["PRECISIONS"]

#: ``"auto"`` (bf16 on CUDA and CPU, fp32 elsewhere), ``"bf16"`` or ``"fp32"``. fp16 is not offered: it needs
#: loss scaling around every optimiser step (recipes step their own optimisers) and is very slow on CPU.
PRECISIONS: tuple[str, ...] = ("auto", "bf16", "fp32")
