"""AttnGAN-compatible caption tokenizer ([FF-GAN: data layout][ffgan-data]): the rules that built the released
``captions.pickle``."""

from __future__ import annotations

import re

__all__ = ["tokenize"]

_WORD = re.compile(r"\w+")


def tokenize(caption: str) -> list[str]:
    """Split one caption into AttnGAN tokens.

    The rules of the AttnGAN/DM-GAN/FF-GAN ``captions.pickle`` builder: replace the two-character sequence
    U+FFFD U+FFFD by a space, lower-case, take maximal runs of word characters (``\\w+``, so punctuation is
    dropped), remove non-ASCII characters from each token and drop tokens that end up empty.

    Args:
        caption: One caption.

    Returns:
        The tokens, in order (possibly empty).

    Raises:
        TypeError: ``caption`` is not a string.

    Example:
        >>> tokenize("A small, RED bird!")
        ['a', 'small', 'red', 'bird']
    """
    if not isinstance(caption, str):
        raise TypeError(f"caption: expected a str, got {type(caption).__name__}")
    text = caption.replace("\ufffd\ufffd", " ").lower()
    tokens = (t.encode("ascii", "ignore").decode("ascii") for t in _WORD.findall(text))
    return [t for t in tokens if t]
