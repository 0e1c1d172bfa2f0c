"""Device auto-selection and the autocast policy (bf16 on CUDA and CPU; never fp16 on CPU)."""

from __future__ import annotations

import contextlib
from functools import partial
from typing import Callable, ContextManager

import torch

from .._precision import PRECISIONS

__all__ = ["select_device", "resolve_precision", "autocast_factory", "PRECISIONS"]

# fp16 is left out of PRECISIONS on purpose: it needs a GradScaler around each optimiser step, and recipes step
# their own optimisers; bf16 has fp32's range and needs none.


def select_device(device: str | torch.device | None = "auto", local_rank: int = 0) -> torch.device:
    """``"auto"``/``None`` → ``cuda:<local_rank>`` if available, else ``mps`` if available, else ``cpu``.

    Args:
        device: ``"auto"``, ``None`` or anything ``torch.device`` accepts.
        local_rank: The GPU index to use under ``torchrun``.
    """
    if device is None or device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank % max(1, torch.cuda.device_count()))
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device: cannot parse {device!r} ({exc})") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device: {device!r} requested but CUDA is not available")
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", local_rank % max(1, torch.cuda.device_count()))
    return dev


def resolve_precision(precision: str, device: torch.device) -> str:
    """Pick the autocast precision: ``"auto"`` → ``"bf16"`` on CUDA (when supported) and CPU, else ``"fp32"``.

    Raises:
        ValueError: ``precision`` unknown (``"fp16"`` is refused: on CPU it is very slow; use bf16).
    """
    if precision == "fp16":
        raise ValueError(
            "precision: 'fp16' is not supported (no loss scaling inside recipes; on CPU it is also very slow); use "
            "'bf16'"
        )
    if precision not in PRECISIONS:
        raise ValueError(f"precision: expected one of {list(PRECISIONS)}, got {precision!r}")
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if device.type == "cpu":
        return "bf16"
    return "fp32"


def autocast_factory(device: torch.device, precision: str) -> Callable[[], ContextManager]:
    """A zero-argument callable returning a fresh autocast context (or a null context for fp32)."""
    if precision == "fp32":
        return contextlib.nullcontext
    if precision != "bf16":
        raise ValueError(f"precision must be 'fp32' or 'bf16' here, got {precision!r}")
    return partial(torch.autocast, device_type=device.type, dtype=torch.bfloat16)
