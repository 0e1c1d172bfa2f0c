"""Inception Score from classifier logits or probabilities: ``exp(E_x KL(p(y|x) ‖ p(y)))`` over splits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._arrays import as_float64_matrix

__all__ = ["ISResult", "inception_score"]


@dataclass(frozen=True)
class ISResult:
    """Inception Score: mean and std of the per-split scores.

    Attributes:
        mean: Mean over splits.
        std: Standard deviation over splits.
        splits: Number of splits actually used.
    """

    mean: float
    std: float
    splits: int


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def inception_score(values: Any, splits: int = 10, *, from_logits: bool = True, eps: float = 1e-12) -> ISResult:
    """Inception Score of class predictions (Salimans et al. 2016).

    The N rows are cut into ``splits`` contiguous, near-equal chunks (as the reference implementations do); for each
    chunk ``IS = exp(mean_x Σ_y p(y|x) (log p(y|x) − log p(y)))`` with ``p(y)`` the chunk's mean prediction.
    Computed in float64.

    Args:
        values: Logits (``from_logits=True``, softmax applied here) or probabilities (rows summing to 1).
        splits: Number of chunks (1 ≤ splits ≤ N).
        from_logits: Whether ``values`` are logits.
        eps: Floor inside the logarithms.

    Shapes:
        - values: ``(N, K)`` with K classes (1008 for the pytorch-fid/TF Inception, 1000 for ImageNet ones).
    """
    array = as_float64_matrix(values, "values")
    n = array.shape[0]
    if not isinstance(splits, int) or not 1 <= splits <= n:
        raise ValueError(f"splits: expected an int in [1, N={n}], got {splits!r}")
    if from_logits:
        probs = _softmax(array)
    else:
        if np.any(array < 0) or not np.allclose(array.sum(axis=1), 1.0, atol=1e-4):
            raise ValueError("values: with from_logits=False every row must be a probability vector (>= 0, sums to 1)")
        probs = array
    scores = []
    for chunk in np.array_split(probs, splits, axis=0):  # loop over the (few) splits, not over samples
        marginal = chunk.mean(axis=0, keepdims=True)
        kl = (chunk * (np.log(chunk + eps) - np.log(marginal + eps))).sum(axis=1)
        scores.append(np.exp(kl.mean()))
    scores_arr = np.asarray(scores)
    return ISResult(mean=float(scores_arr.mean()), std=float(scores_arr.std()), splits=splits)
