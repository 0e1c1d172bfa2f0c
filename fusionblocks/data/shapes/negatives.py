"""Hard negative captions for CaptionedShapes: the same caption with exactly one stated attribute changed.

``"a small red circle on the left"`` gives ``"a small blue circle on the left"`` (colour), ``"a large red circle
on the left"`` (size), ``"a small red square on the left"`` (shape), ``"a small red circle at the top"``
(position), and so on; ``"a red circle to the left of a blue square"`` also gives ``"a red circle above a blue
square"`` (relation). Every such caption is false for the image the original describes, because one attribute
the caption states no longer holds, while every other word is unchanged.

Contrastive losses learn only the distinctions their negatives demand. Random in-batch captions nearly always
differ in colour, so an encoder can match them while ignoring shape and position; a hard negative differs in a
single attribute, so matching it demands that attribute.
[sample_hard_negatives][fusionblocks.data.shapes.negatives.sample_hard_negatives] draws them for training
(``CaptionedShapes(hard_negatives=K)``),
[caption_alternatives][fusionblocks.data.shapes.negatives.caption_alternatives] lists them all for evaluation.
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np

from .grammar import COLORS, INVERSE_RELATION, POSITION_PHRASES, RELATION_PHRASES, SHAPES, SIZES

__all__ = ["NEGATIVE_ATTRIBUTES", "caption_alternatives", "mirrored_caption", "sample_hard_negatives"]

#: Attributes a hard negative may change.
NEGATIVE_ATTRIBUTES: tuple[str, ...] = ("color", "size", "shape", "position", "relation")

# (words of the phrase, attribute, canonical value); longest phrases first so that "to the left of" wins over
# "on the left"-like prefixes
_SPANS: list[tuple[tuple[str, ...], str, str]] = sorted(
    [(tuple(p.split()), "position", v) for v, p in POSITION_PHRASES.items()]
    + [(("in", "the", "middle"), "position", "center"), (("in", "the", "centre"), "position", "center")]
    + [(tuple(p.split()), "relation", v) for v, p in RELATION_PHRASES.items()]
    + [((c,), "color", c) for c in COLORS]
    + [((s,), "shape", s) for s in SHAPES]
    + [((s,), "size", s) for s in SIZES]
    + [(("big",), "size", "large")],
    key=lambda span: -len(span[0]),
)
_PHRASE_OF = {
    "position": {v: p.split() for v, p in POSITION_PHRASES.items()},
    "relation": {v: p.split() for v, p in RELATION_PHRASES.items()},
    "color": {c: [c] for c in COLORS},
    "shape": {s: [s] for s in SHAPES},
    "size": {s: [s] for s in SIZES},
}


def _attribute_spans(words: Sequence[str]) -> list[tuple[int, int, str, str]]:
    """``(start, end, attribute, value)`` of every attribute phrase in a tokenised caption, left to right."""
    spans, i = [], 0
    while i < len(words):
        for phrase, attribute, value in _SPANS:
            if tuple(words[i : i + len(phrase)]) == phrase:
                spans.append((i, i + len(phrase), attribute, value))
                i += len(phrase)
                break
        else:
            i += 1
    return spans


def caption_alternatives(caption: str) -> dict[str, list[str]]:
    """Every caption that changes exactly one attribute phrase of ``caption`` to another value.

    Args:
        caption: A CaptionedShapes caption (lower-cased and split into words; punctuation is dropped).

    Returns:
        ``{attribute: [caption, ...]}`` for each attribute the caption states (two-object captions list both
        objects' changes under the same attribute), in a fixed order.

    Raises:
        TypeError: ``caption`` is not a string.
        ValueError: the caption states no attribute that could be changed.
    """
    if not isinstance(caption, str):
        raise TypeError(f"caption: expected a str, got {type(caption).__name__}")
    words = re.findall(r"[a-z]+", caption.lower())
    out: dict[str, list[str]] = {}
    for start, end, attribute, value in _attribute_spans(words):
        for other, phrase in _PHRASE_OF[attribute].items():
            if other != value:
                out.setdefault(attribute, []).append(" ".join([*words[:start], *phrase, *words[end:]]))
    if not out:
        raise ValueError(f"caption: states no colour, size, shape, position or relation to change: {caption!r}")
    return out


def mirrored_caption(caption: str) -> str | None:
    """The caption with its relation reversed (``"to the left of"`` ↔ ``"to the right of"``, ``"above"`` ↔
    ``"below"``), or ``None`` when it states no relation.

    It describes the mirror image of the scene: the same objects, the same axis, each object on the other's side.
    Random captions, and even the other relation changes (``"left of"`` → ``"above"``), can be rejected from what
    the image holds and along which axis its objects lie; this one only by knowing which object is where.

    Args:
        caption: A CaptionedShapes caption (lower-cased and split into words; punctuation is dropped).

    Returns:
        The mirrored caption, or ``None``.

    Raises:
        TypeError: ``caption`` is not a string.
    """
    if not isinstance(caption, str):
        raise TypeError(f"caption: expected a str, got {type(caption).__name__}")
    words = re.findall(r"[a-z]+", caption.lower())
    for start, end, attribute, value in _attribute_spans(words):
        if attribute == "relation":
            return " ".join([*words[:start], *_PHRASE_OF["relation"][INVERSE_RELATION[value]], *words[end:]])
    return None


def sample_hard_negatives(
    caption: str, count: int, rng: np.random.Generator, mirror_first: bool = False
) -> list[str]:
    """``count`` hard negatives of ``caption``: an attribute the caption states, chosen uniformly, then one of its
    other values, chosen uniformly (so rare two-valued attributes such as size are drawn as often as colour).

    Draws are without replacement while distinct alternatives remain, then with replacement.

    With ``mirror_first``, a caption that states a relation gets its
    [mirrored_caption][fusionblocks.data.shapes.negatives.mirrored_caption] as the first negative and ``count - 1``
    more drawn as above (which may draw it again); a caption without a relation is drawn as without the option.

    Args:
        caption: A CaptionedShapes caption.
        count: Number of negatives (>= 1).
        rng: The random stream (e.g. one per dataset item and epoch).
        mirror_first: Put the mirrored caption first (two-object captions with a relation).

    Returns:
        ``count`` captions, each false for the image ``caption`` describes.

    Raises:
        ValueError: ``count`` < 1, or the caption states nothing to change.
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"count: expected a positive int, got {count!r}")
    if mirror_first:
        mirrored = mirrored_caption(caption)
        if mirrored is not None:
            return [mirrored] + (sample_hard_negatives(caption, count - 1, rng) if count > 1 else [])
    groups = {a: list(c) for a, c in caption_alternatives(caption).items()}
    chosen: list[str] = []
    while len(chosen) < count:
        left = [a for a in groups if groups[a]]
        if not left:  # every alternative used once: start again, with replacement
            groups = {a: list(c) for a, c in caption_alternatives(caption).items()}
            left = list(groups)
        attribute = left[int(rng.integers(len(left)))]
        pool = groups[attribute]
        chosen.append(pool.pop(int(rng.integers(len(pool)))))
    return chosen
