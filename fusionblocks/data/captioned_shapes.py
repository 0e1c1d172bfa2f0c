"""CaptionedShapes: a procedural captioned dataset of coloured shapes, shipped with the library.

Each image shows one or two flat shapes (circle, square, triangle) in one of six saturated colours, small or large,
on a **black** background (RGB (0, 0, 0), i.e. -1 after normalisation). Every item is a pure function of
``(seed, split, index)`` (and of the epoch for the choice of caption), rendered at any resolution with
antialiasing by supersampling. The ground-truth attributes of every image are available, and
:func:`parse_caption` turns any caption of the grammar back into attributes, so that images generated from an
arbitrary caption can be judged (see ``fusionblocks.metrics``).

Geometry (all in fractions of the image width ``W``; the image is square):

* ``diameter``: small = 0.18, large = 0.36 (``SIZE_DIAMETERS``), with a jitter of ±0.01.
* circle: diameter ``d``; square: side ``0.85 d``; triangle: equilateral, apex up, circumradius ``0.6 d``, centred on
  its centroid. So the pixel centroid of every shape is its centre, and areas differ by ~4x between sizes.
* position = region of the centre: anchors ``left (0.25, 0.5)``, ``right (0.75, 0.5)``, ``top (0.5, 0.25)``,
  ``bottom (0.5, 0.75)``, ``center (0.5, 0.5)`` (``POSITION_CENTERS``), jittered by at most ±0.025 per axis; use
  :func:`position_from_centroid` to map a measured centroid back to a region.
* two objects are placed by their relation: ``left of`` puts objects[0] on the left and objects[1] on the right,
  ``above`` puts objects[0] at the top and objects[1] at the bottom (and the reverse for ``right of`` /
  ``below``). Objects never overlap and never leave the image.

Caption grammar (lower case, words separated by spaces)::

    caption  := ["there is"] object [position] | position "there is" object
              | object relation object | "there is" object relation object | object "and" object
    object   := "a" [size] [color] shape
    size     := "small" | "large"                (parse also accepts "big")
    color    := one of COLORS
    shape    := "circle" | "square" | "triangle"
    position := "on the left" | "on the right" | "at the top" | "at the bottom" | "in the center"
    relation := "to the left of" | "to the right of" | "above" | "below"

Examples: "a small red circle", "a large blue square on the left", "a small red circle to the left of a blue square",
"a green triangle above a large yellow circle". :func:`parse_caption` returns ``None`` for every attribute a caption
does not mention: an object's size/colour when the word is left out, its position unless a position phrase follows
it (two-object captions carry no position phrases: the relation describes the layout), and the relation for
one-object captions and the ``"and"`` template.

Shapes:
    ``ds[i]["image"]``: (3, R, R) float in [-1, 1], ``R = resolution``; ``ds[i]["images"]``: list of
    (3, r, r) for the pyramid sizes (``num_scales``), smallest first, the last being ``image`` itself.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Any, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from .._checks import check_positive_int
from .pyramid import pyramid, pyramid_sizes
from .tokens import caption_tokens

__all__ = [
    "COLORS",
    "SHAPES",
    "SIZES",
    "POSITIONS",
    "RELATIONS",
    "BACKGROUND",
    "SIZE_DIAMETERS",
    "POSITION_CENTERS",
    "POSITION_PHRASES",
    "RELATION_PHRASES",
    "TEMPLATES_ONE",
    "TEMPLATES_TWO",
    "NUM_CLASSES",
    "ShapeObject",
    "SceneAttributes",
    "PlacedObject",
    "CaptionedShapes",
    "parse_caption",
    "render_caption",
    "captions_for_scene",
    "class_id_of",
    "position_from_centroid",
    "render_scene",
    "grammar_words",
    "shapes_vocabulary",
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
BACKGROUND: tuple[int, int, int] = (0, 0, 0)

SIZE_DIAMETERS: dict[str, float] = {"small": 0.18, "large": 0.36}
POSITION_CENTERS: dict[str, tuple[float, float]] = {
    "left": (0.25, 0.5),
    "right": (0.75, 0.5),
    "top": (0.5, 0.25),
    "bottom": (0.5, 0.75),
    "center": (0.5, 0.5),
}
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
_INVERSE_RELATION = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}
# relation of objects[0] to objects[1] -> (position of objects[0], position of objects[1])
_RELATION_POSITIONS = {
    "left of": ("left", "right"),
    "right of": ("right", "left"),
    "above": ("top", "bottom"),
    "below": ("bottom", "top"),
}

SQUARE_SIDE = 0.85  # square side, as a fraction of the diameter
TRIANGLE_CIRCUMRADIUS = 0.6  # triangle circumradius, as a fraction of the diameter
POSITION_JITTER = 0.025
DIAMETER_JITTER = 0.01

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

NUM_CLASSES: int = len(SHAPES) * len(COLORS)
_SPLITS = {"train": 0, "val": 1, "test": 2}


@dataclass(frozen=True)
class ShapeObject:
    """One shape. Fields are ``None`` only in attributes parsed from a caption that does not mention them.

    Attributes:
        shape: one of ``SHAPES``.
        color: one of ``COLORS`` (or ``None``).
        size: one of ``SIZES`` (or ``None``).
        position: one of ``POSITIONS``, the region of the object's centre (or ``None``).

    Shapes:
        Not applicable (strings).
    """

    shape: str
    color: str | None
    size: str | None
    position: str | None


@dataclass(frozen=True)
class SceneAttributes:
    """The content of one image (or what a caption says about it).

    Attributes:
        objects: one or two :class:`ShapeObject`.
        relation: ``objects[0] <relation> objects[1]``, one of ``RELATIONS``; ``None`` for a single object
            (or a caption that states no relation).

    Shapes:
        Not applicable (``objects`` has 1 or 2 entries).
    """

    objects: tuple[ShapeObject, ...]
    relation: str | None = None


@dataclass(frozen=True)
class PlacedObject:
    """Exact geometry of one rendered object, in fractions of the image width (x right, y down).

    Attributes:
        object: the object's attributes.
        cx: centre (and pixel centroid) x.
        cy: centre y.
        diameter: the object's diameter ``d`` (see the module docstring for each shape's extent).

    Shapes:
        Scalars only.
    """

    object: ShapeObject
    cx: float
    cy: float
    diameter: float


# --------------------------------------------------------------------------------------------- captions


def render_caption(template: str, attributes: SceneAttributes, swap: bool = False) -> str:
    """Fill a template with a scene's attributes.

    Args:
        template: one of ``TEMPLATES_ONE`` (one object) or ``TEMPLATES_TWO`` (two objects).
        attributes: the scene (all fields set).
        swap: two objects only: mention ``objects[1]`` first and invert the relation.

    Returns:
        The caption.

    Shapes:
        Strings only.
    """
    objs = list(attributes.objects)
    rel = attributes.relation
    if swap:
        objs = objs[::-1]
        rel = _INVERSE_RELATION[rel] if rel is not None else None
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
    """Every caption the dataset's templates produce for a scene (both mention orders for two objects).

    Shapes:
        Strings only.
    """
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
    """Parse a caption of the CaptionedShapes grammar (module docstring) into attributes.

    Attributes a caption does not mention are ``None`` (see the module docstring). Objects are returned in the
    order they are mentioned, and ``relation`` relates the first mentioned to the second.

    Args:
        text: the caption (case and punctuation are ignored).
        strict: raise on words outside the grammar; with ``False`` they are skipped.

    Returns:
        The parsed :class:`SceneAttributes`.

    Raises:
        ValueError: naming ``text`` when the caption is not in the grammar.

    Shapes:
        Strings only.
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
    """Every word the caption grammar can produce, sorted (the basis of :func:`shapes_vocabulary`).

    Shapes:
        Strings only.
    """
    words: set[str] = set(_FILLER) | set(COLORS) | set(SHAPES) | set(SIZES)
    for phrase in list(POSITION_PHRASES.values()) + list(RELATION_PHRASES.values()):
        words.update(phrase.split())
    return sorted(words)


def shapes_vocabulary() -> Any:
    """A ``fusionblocks.text.Vocabulary`` over :func:`grammar_words` (index 0 = padding).

    Shapes:
        Not applicable.
    """
    from ..text import Vocabulary  # lazy: the text package is optional for rendering

    return Vocabulary(grammar_words())


def class_id_of(attributes: SceneAttributes) -> int:
    """Class id = index of (shape, colour) of ``objects[0]``: ``SHAPES.index(shape) * len(COLORS) + colour index``.

    Shapes:
        Not applicable; returns an int in ``[0, NUM_CLASSES)``.
    """
    o = attributes.objects[0]
    if o.color is None:
        raise ValueError("attributes: objects[0] has no colour; the class id needs shape and colour")
    return SHAPES.index(o.shape) * len(COLORS) + list(COLORS).index(o.color)


def position_from_centroid(cx: float, cy: float) -> str:
    """The region (``POSITIONS``) whose anchor is nearest to a centroid given in fractions of the width.

    Shapes:
        Scalars only.
    """
    return min(POSITION_CENTERS, key=lambda p: (POSITION_CENTERS[p][0] - cx) ** 2 + (POSITION_CENTERS[p][1] - cy) ** 2)


# --------------------------------------------------------------------------------------------- rendering

_GRID_CACHE: dict[int, np.ndarray] = {}


def _grid(n: int) -> np.ndarray:
    g = _GRID_CACHE.get(n)
    if g is None:
        g = ((np.arange(n, dtype=np.float32) + 0.5) / n).astype(np.float32)
        _GRID_CACHE[n] = g
    return g


def _coverage(p: PlacedObject, resolution: int, supersample: int) -> np.ndarray:
    """Fraction of each pixel covered by the object, (R, R) float32."""
    n = resolution * supersample
    d = p.diameter
    half_extent = max(0.5 * d, 0.5 * SQUARE_SIDE * math.sqrt(2) * d, TRIANGLE_CIRCUMRADIUS * d) + 1.0 / resolution
    # pixel window containing the object (whole pixels, so the supersample blocks stay aligned)
    x0 = max(0, int(math.floor((p.cx - half_extent) * resolution)))
    x1 = min(resolution, int(math.ceil((p.cx + half_extent) * resolution)))
    y0 = max(0, int(math.floor((p.cy - half_extent) * resolution)))
    y1 = min(resolution, int(math.ceil((p.cy + half_extent) * resolution)))
    g = _grid(n)
    xs = g[x0 * supersample : x1 * supersample][None, :] - p.cx
    ys = g[y0 * supersample : y1 * supersample][:, None] - p.cy
    shape = p.object.shape
    if shape == "circle":
        inside = xs * xs + ys * ys <= (0.5 * d) ** 2
    elif shape == "square":
        h = 0.5 * SQUARE_SIDE * d
        inside = (np.abs(xs) <= h) & (np.abs(ys) <= h)
    elif shape == "triangle":
        r = TRIANGLE_CIRCUMRADIUS * d
        inside = (ys >= -r) & (ys <= 0.5 * r) & (np.abs(xs) * math.sqrt(3.0) <= ys + r)
    else:
        raise ValueError(f"shape: expected one of {SHAPES}, got {shape!r}")
    cov = np.zeros((resolution, resolution), dtype=np.float32)
    h, w = y1 - y0, x1 - x0
    cov[y0:y1, x0:x1] = inside.reshape(h, supersample, w, supersample).mean(axis=(1, 3), dtype=np.float32)
    return cov


def render_scene(placed: Sequence[PlacedObject], resolution: int, supersample: int = 4) -> torch.Tensor:
    """Render placed objects on the black background with supersampled antialiasing.

    Args:
        placed: the objects (non-overlapping).
        resolution: output side ``R``.
        supersample: samples per pixel side.

    Returns:
        The image, float32 in [-1, 1].

    Shapes:
        Output: (3, R, R).
    """
    check_positive_int(resolution, "resolution")
    check_positive_int(supersample, "supersample")
    bg = np.asarray(BACKGROUND, dtype=np.float32)
    img = np.broadcast_to(bg, (resolution, resolution, 3)).copy()
    for p in placed:
        if p.object.color not in COLORS:
            raise ValueError(f"placed: colour must be one of {list(COLORS)}, got {p.object.color!r}")
        cov = _coverage(p, resolution, supersample)
        img += cov[:, :, None] * (np.asarray(COLORS[p.object.color], dtype=np.float32) - bg)
    # normalise and transpose in numpy: tiny torch ops pay thread-pool overhead on busy machines
    return torch.from_numpy(np.ascontiguousarray((img * np.float32(1 / 127.5) - np.float32(1.0)).transpose(2, 0, 1)))


# --------------------------------------------------------------------------------------------- dataset


def _sample_scene(rng: np.random.Generator, max_objects: int) -> tuple[SceneAttributes, tuple[PlacedObject, ...]]:
    colors = list(COLORS)
    n = int(rng.integers(1, max_objects + 1))
    if n == 1:
        objs = [
            ShapeObject(
                shape=SHAPES[rng.integers(len(SHAPES))],
                color=colors[rng.integers(len(colors))],
                size=SIZES[rng.integers(len(SIZES))],
                position=POSITIONS[rng.integers(len(POSITIONS))],
            )
        ]
        relation = None
    else:
        relation = RELATIONS[rng.integers(len(RELATIONS))]
        pos = _RELATION_POSITIONS[relation]
        # two distinct (shape, colour) pairs, so that each object can be referred to unambiguously
        pairs = rng.choice(len(SHAPES) * len(colors), size=2, replace=False)
        objs = [
            ShapeObject(
                shape=SHAPES[int(pc) // len(colors)],
                color=colors[int(pc) % len(colors)],
                size=SIZES[rng.integers(len(SIZES))],
                position=pos[k],
            )
            for k, pc in enumerate(pairs)
        ]
    placed = []
    for o in objs:
        ax, ay = POSITION_CENTERS[str(o.position)]
        jx, jy, jd = rng.uniform(-1.0, 1.0, size=3)
        placed.append(
            PlacedObject(
                object=o,
                cx=float(ax + POSITION_JITTER * jx),
                cy=float(ay + POSITION_JITTER * jy),
                diameter=float(SIZE_DIAMETERS[str(o.size)] + DIAMETER_JITTER * jd),
            )
        )
    return SceneAttributes(objects=tuple(objs), relation=relation), tuple(placed)


class CaptionedShapes(Dataset):
    """Procedural captioned shapes (see the module docstring for the geometry and the grammar).

    Args:
        size: number of images.
        resolution: rendered side ``R`` (any positive int; 64 is the demo default).
        split: ``"train"``, ``"val"`` or ``"test"``; each split draws from its own random stream.
        seed: base seed; item ``i`` is a pure function of ``(seed, split, i)`` and the epoch (caption choice).
        max_objects: 1 or 2 objects per image (the count is uniform in ``1..max_objects``).
        captions_per_image: captions kept per image, drawn without replacement from the scene's template
            captions (with replacement only when more are asked for than exist).
        num_scales: pyramid levels in ``item["images"]``: sizes ``R / 2**(num_scales-1), ..., R`` made from the
            rendered image with antialiased bilinear downsampling (:func:`fusionblocks.data.pyramid`).
        supersample: antialiasing samples per pixel side.
        vocabulary: optional ``Vocabulary``; when given, items also carry ``tokens`` / ``length``.
        max_words: length of ``tokens`` (with ``vocabulary``); the longest template caption has 14 words, longer
            captions would keep a random ordered subset of words.

    Items are dicts: ``image`` (3, R, R) in [-1, 1]; ``images`` list (pyramid); ``caption`` str;
    ``caption_index`` int; ``attributes`` :class:`SceneAttributes`; ``class_id`` int (:func:`class_id_of`);
    ``key`` str (``"<split>/<i>"``); and ``tokens`` (max_words,) long / ``length`` int with a vocabulary.

    Call :meth:`set_epoch` before each epoch to draw other captions; rendering does not depend on the epoch.

    Shapes:
        ``image``: (3, R, R); ``images[k]``: (3, R / 2**(num_scales-1-k), ...); ``tokens``: (max_words,).
    """

    def __init__(
        self,
        size: int = 1000,
        resolution: int = 64,
        split: str = "train",
        seed: int = 0,
        max_objects: int = 2,
        captions_per_image: int = 3,
        num_scales: int = 1,
        supersample: int = 4,
        vocabulary: Any = None,
        max_words: int = 16,
    ) -> None:
        self.size = check_positive_int(size, "size")
        self.resolution = check_positive_int(resolution, "resolution")
        if split not in _SPLITS:
            raise ValueError(f"split: expected one of {list(_SPLITS)}, got {split!r}")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed: expected a non-negative int, got {seed!r}")
        if max_objects not in (1, 2):
            raise ValueError(f"max_objects: expected 1 or 2, got {max_objects!r}")
        self.split = split
        self.seed = seed
        self.max_objects = max_objects
        self.captions_per_image = check_positive_int(captions_per_image, "captions_per_image")
        self.num_scales = check_positive_int(num_scales, "num_scales")
        self.scales = pyramid_sizes(resolution, num_scales)
        self.supersample = check_positive_int(supersample, "supersample")
        self.vocabulary = vocabulary
        self.max_words = check_positive_int(max_words, "max_words")
        self.epoch = 0

    def __len__(self) -> int:
        return self.size

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch used to draw each item's caption."""
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"epoch: expected a non-negative int, got {epoch!r}")
        self.epoch = epoch

    def _index(self, index: int) -> int:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"index: expected an int, got {type(index).__name__}")
        i = int(index)
        if i < 0:
            i += self.size
        if not 0 <= i < self.size:
            raise IndexError(f"index: {index} out of range for a dataset of size {self.size}")
        return i

    def _scene(self, i: int) -> tuple[SceneAttributes, tuple[PlacedObject, ...], list[str]]:
        rng = np.random.default_rng([self.seed, _SPLITS[self.split], i])
        attributes, placed = _sample_scene(rng, self.max_objects)
        bank = captions_for_scene(attributes)
        k = self.captions_per_image
        picks = rng.choice(len(bank), size=k, replace=k > len(bank))
        return attributes, placed, [bank[int(j)] for j in picks]

    def attributes(self, index: int) -> SceneAttributes:
        """Ground-truth attributes of image ``index``."""
        return self._scene(self._index(index))[0]

    def layout(self, index: int) -> tuple[PlacedObject, ...]:
        """Exact geometry of image ``index`` (aligned with ``attributes(index).objects``)."""
        return self._scene(self._index(index))[1]

    def captions(self, index: int) -> list[str]:
        """The ``captions_per_image`` captions of image ``index``."""
        return self._scene(self._index(index))[2]

    def class_id(self, index: int) -> int:
        """Class id of image ``index`` (:func:`class_id_of`)."""
        return class_id_of(self.attributes(index))

    def render(self, index: int, resolution: int | None = None) -> torch.Tensor:
        """Image ``index`` rendered at ``resolution`` (default: the dataset's), (3, R, R) in [-1, 1]."""
        return render_scene(self.layout(index), resolution or self.resolution, self.supersample)

    def all_captions(self) -> list[list[str]]:
        """Captions of every image, ``[i][k]``."""
        return [self._scene(i)[2] for i in range(self.size)]

    def caption_bank(self) -> tuple[list[str], torch.Tensor, torch.Tensor]:
        """Flat caption list for R-precision: ``(captions, image_index, class_ids)``.

        Caption ``j`` belongs to image ``image_index[j] = j // captions_per_image``.

        Shapes:
            ``image_index`` and ``class_ids``: (size * captions_per_image,) long.
        """
        caps: list[str] = []
        cls: list[int] = []
        for i in range(self.size):
            attributes, _, c = self._scene(i)
            caps.extend(c)
            cls.extend([class_id_of(attributes)] * len(c))
        image_index = torch.arange(self.size).repeat_interleave(self.captions_per_image)
        return caps, image_index, torch.tensor(cls, dtype=torch.long)

    def __getitem__(self, index: int) -> dict[str, Any]:
        i = self._index(index)
        attributes, placed, captions = self._scene(i)
        crng = np.random.default_rng([self.seed, _SPLITS[self.split], i, self.epoch, 1])
        k = int(crng.integers(len(captions)))
        image = render_scene(placed, self.resolution, self.supersample)
        item: dict[str, Any] = {
            "image": image,
            "images": pyramid(image, self.scales),
            "caption": captions[k],
            "caption_index": k,
            "attributes": attributes,
            "class_id": class_id_of(attributes),
            "key": f"{self.split}/{i}",
        }
        if self.vocabulary is not None:
            item["tokens"], item["length"] = caption_tokens(self.vocabulary.encode(captions[k]), self.max_words, crng)
        return item

    def __repr__(self) -> str:
        return (
            f"CaptionedShapes(size={self.size}, resolution={self.resolution}, split={self.split!r}, seed={self.seed}, "
            f"max_objects={self.max_objects}, captions_per_image={self.captions_per_image}, "
            f"num_scales={self.num_scales})"
        )
