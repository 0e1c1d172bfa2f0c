"""Helpers shared by the losses: argument checks, class masking, two-way matching cross-entropy."""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

from .._checks import check_tensor

__all__ = ["check_class_ids", "same_class_mask", "matching_cross_entropy", "check_logits", "check_gamma"]


def check_class_ids(
    class_ids: torch.Tensor | Sequence[int] | None, name: str, batch: int, device: torch.device
) -> torch.Tensor | None:
    """``class_ids`` must be ``None`` or ``batch`` integers; returns a ``(B,)`` long tensor on ``device``.

    Shapes:
        class_ids: ``(B,)``; returns ``(B,)`` long or ``None``.
    """
    if class_ids is None:
        return None
    if not isinstance(class_ids, torch.Tensor):
        try:
            class_ids = torch.as_tensor(list(class_ids))
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name}: expected a (B,) integer tensor or sequence of ints, got {class_ids!r}") from exc
    if class_ids.is_floating_point() or class_ids.is_complex() or class_ids.dtype == torch.bool:
        raise TypeError(f"{name}: expected integer class ids, got dtype {class_ids.dtype}")
    if class_ids.ndim != 1 or class_ids.shape[0] != batch:
        raise ValueError(f"{name}: expected shape ({batch},) to match the batch, got {tuple(class_ids.shape)}")
    return class_ids.to(device=device, dtype=torch.long)


def same_class_mask(class_ids: torch.Tensor) -> torch.Tensor:
    """True where ``class(j) == class(i)`` and ``j != i``: the pairs excluded from the matching loss.

    Shapes:
        class_ids: ``(B,)``; returns ``(B, B)`` bool.
    """
    same = class_ids[:, None] == class_ids[None, :]
    eye = torch.eye(class_ids.shape[0], dtype=torch.bool, device=class_ids.device)
    return same & ~eye


def matching_cross_entropy(
    scores: torch.Tensor, negative_scores: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy both ways with the diagonal as the target (mean reduction).

    Returns ``(CE(scores, arange), CE(scores.T, arange))``: rows pick columns, then columns pick rows. With
    ``negative_scores``, row ``i`` also competes with its own extra columns ``negative_scores[i]`` (the scores of
    image ``i`` against its hard-negative captions) in the first term; the second term is unchanged.

    Shapes:
        scores: ``(B, B)``; negative_scores: ``(B, K)``; returns two ``()`` tensors.
    """
    labels = torch.arange(scores.shape[0], device=scores.device)
    rows = scores if negative_scores is None else torch.cat([scores, negative_scores.to(scores.dtype)], dim=1)
    return F.cross_entropy(rows, labels), F.cross_entropy(scores.t(), labels)


def check_logits(value: object, name: str, batch: int | None = None) -> torch.Tensor:
    """``value`` must be a floating tensor with the batch on dim 0 (``(N,)`` or ``(N, ...)``, e.g. patch logits).

    Shapes:
        value: ``(N, ...)``; returned unchanged.
    """
    value = check_tensor(value, name)
    if value.ndim == 0:
        raise ValueError(f"{name}: expected logits with the batch on dim 0, got a 0-D tensor")
    if value.numel() == 0:
        raise ValueError(f"{name}: expected at least one logit, got shape {tuple(value.shape)}")
    if batch is not None and value.shape[0] != batch:
        raise ValueError(f"{name}: expected batch size {batch} on dim 0, got shape {tuple(value.shape)}")
    return value


def check_gamma(value: object, name: str) -> float:
    """``value`` must be a positive finite real number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name}: expected a positive number, got {type(value).__name__}")
    value = float(value)
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{name}: expected a positive finite number, got {value!r}")
    return value
