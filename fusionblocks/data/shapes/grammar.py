"""The CaptionedShapes vocabulary of attributes and its caption grammar: templates, a renderer and a parser.

Caption grammar (lower case, words separated by spaces):

    caption  := ["there is"] object [position] | position "there is" object
              | object relation object | "there is" object relation object | object "and" object
    object   := "a" [size] [color] shape
    size     := "small" | "large"                (parse also accepts "big")
    color    := one of COLORS
    shape    := "circle" | "square" | "triangle"
    position := "on the left" | "on the right" | "at the top" | "at the bottom" | "in the center"
    relation := "to the left of" | "to the right of" | "above" | "below"

Examples: "a small red circle", "a large blue square on the left", "a small red circle to the left of a
blue square", "a green triangle above a large yellow circle".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ...text.vocabulary import Vocabulary

__all__ = [
    "COLORS",
    "SHAPES",
    "SIZES",
    "POSITIONS",
    "RELATIONS",
    "POSITION_PHRASES",
    "RELATION_PHRASES",
    "INVERSE_RELATION",
    "TEMPLATES_ONE",
    "TEMPLATES_TWO",
    "NUM_CLASSES",
    "ShapeObject",
    "SceneAttributes",
    "render_caption",
    "captions_for_scene",
    "parse_caption",
    "grammar_words",
    "shapes_vocabulary",
    "class_id_of",
]

COLORS: dict[str, tuple[int, int, int]] = {
    "red": (230, 30, 30),
    "green": (40, 200, 40),
    "blue": (40, 80, 240),
    "yellow": (240, 220, 30),
    "magenta": (220, 40, 220),
    "cyan": (30, 210, 220),
}
SHAPES: tuple[str, ...] = ("circle", "square", "triangle")
SIZES: tuple[str, ...] = ("small", "large")
POSITIONS: tuple[str, ...] = ("left", "right", "top", "bottom", "center")
RELATIONS: tuple[str, ...] = ("left of", "right of", "above", "below")

POSITION_PHRASES: dict[str, str] = {
    "left": "on the left",
    "right": "on the right",
    "top": "at the top",
    "bottom": "at the bottom",
    "center": "in the center",
}
RELATION_PHRASES: dict[str, str] = {
    "left of": "to the left of",
    "right of": "to the right of",
    "above": "above",
    "below": "below",
}
INVERSE_RELATION: dict[str, str] = {
    "left of": "right of",
    "right of": "left of",
    "above": "below",
    "below": "above",
}

# Templates: placeholders {size0} {color0} {shape0} {pos0} for the first mentioned object, {rel}, and
# {size1} {color1} {shape1} for the second. A template mentions exactly the attributes it has placeholders for.
TEMPLATES_ONE: tuple[str, ...] = (
    "a {size0} {color0} {shape0}",
    "a {size0} {color0} {shape0} {pos0}",
    "a {color0} {shape0} {pos0}",
    "there is a {size0} {color0} {shape0} {pos0}",
    "{pos0} there is a {size0} {color0} {shape0}",
)
TEMPLATES_TWO: tuple[str, ...] = (
    "a {size0} {color0} {shape0} {rel} a {size1} {color1} {shape1}",
    "a {color0} {shape0} {rel} a {size1} {color1} {shape1}",
    "a {size0} {color0} {shape0} {rel} a {color1} {shape1}",
    "there is a {size0} {color0} {shape0} {rel} a {size1} {color1} {shape1}",
    "a {size0} {color0} {shape0} and a {size1} {color1} {shape1}",
)

#: Number of (shape, colour) classes; see [class_id_of][fusionblocks.data.shapes.grammar.class_id_of].
NUM_CLASSES: int = len(SHAPES) * len(COLORS)


@dataclass(frozen=True)
class ShapeObject:
    """One shape. Fields are ``None`` only in attributes parsed from a caption that does not mention them.

    Attributes:
        shape: one of ``SHAPES``.
        color: one of ``COLORS`` (or ``None``).
        size: one of ``SIZES`` (or ``None``).
        position: one of ``POSITIONS``, the region of the object's centre (or ``None``).
    """

    shape: str
    color: str | None
    size: str | None
    position: str | None


@dataclass(frozen=True)
class SceneAttributes:
    """The content of one image (or what a caption says about it).

    Attributes:
        objects: one or two [ShapeObject][fusionblocks.data.shapes.grammar.ShapeObject].
        relation: ``objects[0] <relation> objects[1]``, one of ``RELATIONS``; ``None`` for a single object
            (or a caption that states no relation).
    """

    objects: tuple[ShapeObject, ...]
    relation: str | None = None


def render_caption(template: str, attributes: SceneAttributes, swap: bool = False) -> str:
    """Fill a template with a scene's attributes.

    Args:
        template: one of ``TEMPLATES_ONE`` (one object) or ``TEMPLATES_TWO`` (two objects).
        attributes: the scene (all fields set).
        swap: two objects only: mention ``objects[1]`` first and invert the relation.

    Returns:
        The caption.
    """
    objs = list(attributes.objects)
    rel = attributes.relation
    if swap:
        objs = objs[::-1]
        rel = INVERSE_RELATION[rel] if rel is not None else None
    fields: dict[str, str] = {}
    for k, o in enumerate(objs):
        fields[f"size{k}"] = str(o.size)
        fields[f"color{k}"] = str(o.color)
        fields[f"shape{k}"] = o.shape
        fields[f"pos{k}"] = POSITION_PHRASES[o.position] if o.position is not None else ""
    if "{rel}" in template:
        if rel is None:
            raise ValueError(f"template: {template!r} needs a relation, but the scene has none")
        fields["rel"] = RELATION_PHRASES[rel]
    return " ".join(template.format(**fields).split())


def captions_for_scene(attributes: SceneAttributes) -> list[str]:
    """Every caption the dataset's templates produce for a scene (both mention orders for two objects)."""
    if len(attributes.objects) == 1:
        return [render_caption(t, attributes) for t in TEMPLATES_ONE]
    out = []
    for t in TEMPLATES_TWO:
        for swap in (False, True):
            out.append(render_caption(t, attributes, swap=swap))
    return out


_SIZE_WORDS = {"small": "small", "large": "large", "big": "large"}
_FILLER = {"a", "an", "there", "is", "and", "the"}
_PHRASES: list[tuple[tuple[str, ...], str, str]] = sorted(
    [(tuple(p.split()), "position", k) for k, p in POSITION_PHRASES.items()]
    + [(("in", "the", "middle"), "position", "center"), (("in", "the", "centre"), "position", "center")]
    + [(tuple(p.split()), "relation", k) for k, p in RELATION_PHRASES.items()],
    key=lambda t: -len(t[0]),
)


def parse_caption(text: str, strict: bool = True) -> SceneAttributes:
    """Parse a caption of the CaptionedShapes grammar (this module's docstring) into attributes.

    Attributes a caption does not mention are ``None``: an object's size or colour when the word is left out,
    its position unless a position phrase follows it (two-object captions carry no position phrases: the
    relation describes the layout), and the relation for one-object captions and the ``"and"`` template.
    Objects are returned in the order they are mentioned, and ``relation`` relates the first mentioned to
    the second.

    Args:
        text: the caption (case and punctuation are ignored).
        strict: raise on words outside the grammar; with ``False`` they are skipped.

    Returns:
        The parsed [SceneAttributes][fusionblocks.data.shapes.grammar.SceneAttributes].

    Raises:
        ValueError: naming ``text`` when the caption is not in the grammar.
    """
    if not isinstance(text, str):
        raise TypeError(f"text: expected a str caption, got {type(text).__name__}")
    words = re.findall(r"[a-z]+", text.lower())
    objects: list[ShapeObject] = []
    size = color = None
    pending_pos: str | None = None
    relation: str | None = None
    last_can_take_pos = False

    def fail(msg: str) -> ValueError:
        return ValueError(f"text: {msg} in caption {text!r}")

    i = 0
    while i < len(words):
        matched = None
        for phrase, kind, value in _PHRASES:
            if tuple(words[i : i + len(phrase)]) == phrase:
                matched = (phrase, kind, value)
                break
        if matched is not None:
            phrase, kind, value = matched
            if size is not None or color is not None:
                raise fail(f"{' '.join(phrase)!r} inside an object description")
            if kind == "position":
                if last_can_take_pos:
                    objects[-1] = replace(objects[-1], position=value)
                    last_can_take_pos = False
                elif pending_pos is None:
                    pending_pos = value
                else:
                    raise fail("two position phrases for one object")
            else:
                if relation is not None or len(objects) != 1:
                    raise fail("a relation must come between exactly two objects")
                relation = value
                last_can_take_pos = False
            i += len(phrase)
            continue
        w = words[i]
        i += 1
        if w in _SIZE_WORDS:
            if size is not None:
                raise fail(f"two sizes for one object ({w!r})")
            size = _SIZE_WORDS[w]
        elif w in COLORS:
            if color is not None:
                raise fail(f"two colours for one object ({w!r})")
            color = w
        elif w in SHAPES:
            objects.append(ShapeObject(shape=w, color=color, size=size, position=pending_pos))
            last_can_take_pos = pending_pos is None
            size = color = pending_pos = None
        elif w in _FILLER:
            if w == "and":
                last_can_take_pos = False
            continue
        elif strict:
            raise fail(f"unknown word {w!r}")
    if size is not None or color is not None:
        raise fail("an object description without a shape word")
    if pending_pos is not None:
        raise fail("a position phrase without an object")
    if not 1 <= len(objects) <= 2:
        raise fail(f"expected one or two objects, found {len(objects)}")
    if relation is not None and len(objects) != 2:
        raise fail("a relation needs a second object")
    return SceneAttributes(objects=tuple(objects), relation=relation)


def grammar_words() -> list[str]:
    """Every word the caption grammar can produce, sorted (the basis of
    [shapes_vocabulary][fusionblocks.data.shapes.grammar.shapes_vocabulary])."""
    words: set[str] = set(_FILLER) | set(COLORS) | set(SHAPES) | set(SIZES)
    for phrase in list(POSITION_PHRASES.values()) + list(RELATION_PHRASES.values()):
        words.update(phrase.split())
    return sorted(words)


def shapes_vocabulary() -> Vocabulary:
    """A [Vocabulary][fusionblocks.text.Vocabulary] over
    [grammar_words][fusionblocks.data.shapes.grammar.grammar_words] (index 0 = padding)."""
    return Vocabulary(grammar_words())


def class_id_of(attributes: SceneAttributes) -> int:
    """Class id of a scene, in ``[0, NUM_CLASSES)``: the index of ``objects[0]``'s (shape, colour) pair,
    ``SHAPES.index(shape) * len(COLORS) + colour index``."""
    o = attributes.objects[0]
    if o.color is None:
        raise ValueError("attributes: objects[0] has no colour; the class id needs shape and colour")
    return SHAPES.index(o.shape) * len(COLORS) + list(COLORS).index(o.color)
