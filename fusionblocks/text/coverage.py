"""How well a vocabulary covers a set of captions: unknown words are dropped when encoding, so a vocabulary that
does not fit the data silently collapses captions ("a photo of a cat" → "a of a").

[`check_vocabulary_coverage`][fusionblocks.text.coverage.check_vocabulary_coverage] turns a bad fit into an error
that says what to do; [`warn_unknown_words`][fusionblocks.text.coverage.warn_unknown_words] names the words that a
few user captions lose (sampling).
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from .tokenizer import tokenize
from .vocabulary import END_TOKEN, Vocabulary

__all__ = [
    "MAX_UNKNOWN_FRACTION",
    "VocabularyCoverage",
    "VocabularyCoverageError",
    "vocabulary_coverage",
    "check_vocabulary_coverage",
    "warn_unknown_words",
]

#: Above this fraction of unknown tokens, training a vocabulary encoder on the captions is an error.
MAX_UNKNOWN_FRACTION = 0.2


class VocabularyCoverageError(ValueError):
    """The captions are mostly made of words the text encoder's vocabulary does not know."""


@dataclass
class VocabularyCoverage:
    """Token counts of captions against a vocabulary.

    Attributes:
        num_captions: Captions looked at.
        num_tokens: Their tokens (``fusionblocks.text.tokenize``).
        num_unknown: Tokens not in the vocabulary (dropped when encoding).
        unknown_words: Each unknown word with its count, most frequent first.
        collapsed_captions: Captions with no known word at all (they cannot be encoded).
    """

    num_captions: int
    num_tokens: int
    num_unknown: int
    unknown_words: dict[str, int] = field(default_factory=dict)
    collapsed_captions: int = 0

    @property
    def unknown_fraction(self) -> float:
        """Share of tokens that are unknown (0 when there are no tokens)."""
        return self.num_unknown / self.num_tokens if self.num_tokens else 0.0

    def examples(self, count: int = 8) -> list[str]:
        """The ``count`` most frequent unknown words."""
        return list(self.unknown_words)[:count]


def vocabulary_coverage(vocabulary: Vocabulary, captions: Iterable[str]) -> VocabularyCoverage:
    """Count the tokens of ``captions`` that ``vocabulary`` does not know.

    Args:
        vocabulary: The vocabulary of a text encoder.
        captions: Raw caption strings.

    Raises:
        TypeError: ``vocabulary`` is not a [`Vocabulary`][fusionblocks.text.vocabulary.Vocabulary], or a caption is
            not a string.
    """
    if not isinstance(vocabulary, Vocabulary):
        raise TypeError(f"vocabulary: expected a fusionblocks.text.Vocabulary, got {type(vocabulary).__name__}")
    unknown: Counter[str] = Counter()
    captions_seen = tokens = collapsed = 0
    for i, caption in enumerate(captions):
        if not isinstance(caption, str):
            raise TypeError(f"captions: item {i} is {type(caption).__name__}, expected str")
        words = [w for w in tokenize(caption) if w != END_TOKEN]
        missing = [w for w in words if w not in vocabulary]
        captions_seen += 1
        tokens += len(words)
        unknown.update(missing)
        collapsed += bool(words) and len(missing) == len(words)
    return VocabularyCoverage(
        num_captions=captions_seen,
        num_tokens=tokens,
        num_unknown=sum(unknown.values()),
        unknown_words=dict(unknown.most_common()),
        collapsed_captions=collapsed,
    )


def check_vocabulary_coverage(
    vocabulary: Vocabulary,
    captions: Iterable[str],
    *,
    max_unknown: float = MAX_UNKNOWN_FRACTION,
    what: str = "the captions",
) -> VocabularyCoverage:
    """Raise when more than ``max_unknown`` of the captions' tokens are unknown to ``vocabulary``.

    Args:
        vocabulary: The text encoder's vocabulary.
        captions: The training captions (a sample of them is enough).
        max_unknown: Largest allowed share of unknown tokens (default 20 %).
        what: How the message names the captions (e.g. ``"the captions of CaptionFolder('my_data')"``).

    Returns:
        The [`VocabularyCoverage`][fusionblocks.text.coverage.VocabularyCoverage] when it passes.

    Raises:
        VocabularyCoverageError: Too many unknown tokens; the message names the most frequent ones and what to do.
    """
    if not 0.0 <= max_unknown <= 1.0:
        raise ValueError(f"max_unknown: expected a fraction in [0, 1], got {max_unknown!r}")
    coverage = vocabulary_coverage(vocabulary, captions)
    if coverage.unknown_fraction > max_unknown:
        raise VocabularyCoverageError(
            f"vocabulary: {coverage.unknown_fraction:.0%} of the tokens of {what} are not in the text encoder's "
            f"vocabulary ({len(vocabulary)} words; unknown e.g. {coverage.examples()}), so the captions would lose "
            "those words. Use the dataset's own vocabulary (leave text.vocabulary unset: the dataset then decides), "
            "or build one with `fusionblocks vocab build DATA --out vocab.json` and pass "
            "--set text.vocabulary=vocab.json (pre-trained DAMSM weights need the vocabulary they were trained with)"
        )
    return coverage


def warn_unknown_words(vocabulary: Vocabulary | None, captions: Sequence[str], *, stacklevel: int = 2) -> list[str]:
    """Warn (``UserWarning``) naming the words of ``captions`` that ``vocabulary`` drops; returns them.

    Does nothing when ``vocabulary`` is None (an encoder with its own tokenizer, e.g. CLIP).
    """
    if vocabulary is None or isinstance(captions, str):
        return []
    coverage = vocabulary_coverage(vocabulary, captions)
    words = list(coverage.unknown_words)
    if words:
        shown = ", ".join(repr(w) for w in words[:12]) + (f" and {len(words) - 12} more" if len(words) > 12 else "")
        warnings.warn(
            f"captions: {len(words)} word(s) are not in the model's vocabulary and are dropped: {shown}",
            UserWarning,
            stacklevel=stacklevel + 1,
        )
    return words
