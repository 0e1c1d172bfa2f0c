"""Fixed-length token arrays from word-index captions (the official ``get_caption``).

Captions longer than ``max_words`` keep a random, **order-preserving** subset of ``max_words`` words (not a
truncation), re-drawn every time; shorter ones are right-padded with 0. The length is ``min(len, max_words)``.

Shapes:
    ``caption_tokens(ids, max_words, rng)`` -> ``(tokens (max_words,) long, length int)``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from .._checks import check_positive_int

__all__ = ["subsample_words", "caption_tokens"]


def subsample_words(ids: Sequence[int], max_words: int, rng: np.random.Generator) -> list[int]:
    """A random order-preserving subset of ``max_words`` ids when ``len(ids) > max_words``; else ``ids``.

    Shapes:
        Lists of ints: ``(n,) -> (min(n, max_words),)``.
    """
    check_positive_int(max_words, "max_words")
    ids = list(ids)
    if len(ids) <= max_words:
        return ids
    keep = np.sort(rng.choice(len(ids), size=max_words, replace=False))
    return [ids[int(k)] for k in keep]


def caption_tokens(ids: Sequence[int], max_words: int, rng: np.random.Generator) -> tuple[torch.Tensor, int]:
    """Subsample ([`subsample_words`][fusionblocks.data.tokens.subsample_words]) and right-pad with 0 to ``max_words``.

    Shapes:
        Output: tokens ``(max_words,)`` long and the length ``min(len(ids), max_words)``.
    """
    kept = subsample_words(ids, max_words, rng)
    tokens = torch.zeros(max_words, dtype=torch.long)
    if kept:
        tokens[: len(kept)] = torch.as_tensor(kept, dtype=torch.long)
    return tokens, len(kept)
