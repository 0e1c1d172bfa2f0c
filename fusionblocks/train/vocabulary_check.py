"""Refuse to train a vocabulary text encoder on captions it mostly cannot read (their words would be dropped)."""

from __future__ import annotations

from typing import Any

from torch import nn

from ..data.dataset_vocabulary import dataset_captions
from ..text import MAX_UNKNOWN_FRACTION, Vocabulary, check_vocabulary_coverage
from .distributed import unwrap

__all__ = ["check_dataset_vocabulary"]


def check_dataset_vocabulary(text_encoder: nn.Module, dataset: Any, *, max_unknown: float | None = None) -> None:
    """Check that ``text_encoder``'s vocabulary covers ``dataset``'s captions (a spread-out sample of them).

    Encoders without a vocabulary (CLIP) and datasets that cannot list captions are not checked.

    Raises:
        fusionblocks.text.VocabularyCoverageError: more than ``max_unknown`` (default 20 %) of the tokens are unknown;
            the message names them and says how to get a matching vocabulary.
    """
    vocabulary = getattr(unwrap(text_encoder), "vocabulary", None)
    if not isinstance(vocabulary, Vocabulary):
        return
    captions = dataset_captions(dataset)
    check_vocabulary_coverage(
        vocabulary,
        captions,
        max_unknown=MAX_UNKNOWN_FRACTION if max_unknown is None else max_unknown,
        what=f"the captions of {type(dataset).__name__}",
    )
