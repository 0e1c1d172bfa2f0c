"""Small helpers shared by the metric modules: turn tensors/arrays into float64 matrices with named errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["as_float64_matrix", "as_float64_vector"]


def as_float64_matrix(value: Any, name: str, *, min_rows: int = 1) -> np.ndarray:
    """Return ``value`` as a 2-D float64 numpy array ``(N, D)`` with ``N >= min_rows``.

    Shapes:
        - value: ``(N, D)`` tensor or array-like.
        - output: ``(N, D)`` float64 ``np.ndarray``.
    """
    if isinstance(value, torch.Tensor):
        value = value.detach().to("cpu", torch.float64).numpy()
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}: expected a (N, D) tensor or array of numbers, got {type(value).__name__}") from exc
    if array.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D (N, D) array, got shape {tuple(array.shape)}")
    if array.shape[0] < min_rows:
        raise ValueError(f"{name}: expected at least {min_rows} rows (samples), got shape {tuple(array.shape)}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name}: contains NaN or infinite values")
    return array


def as_float64_vector(value: Any, name: str) -> np.ndarray:
    """Return ``value`` as a 1-D float64 numpy array.

    Shapes:
        - value: ``(D,)``; output ``(D,)`` float64.
    """
    if isinstance(value, torch.Tensor):
        value = value.detach().to("cpu", torch.float64).numpy()
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D (D,) array, got shape {tuple(array.shape)}")
    return array
