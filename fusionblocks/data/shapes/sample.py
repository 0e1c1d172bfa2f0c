"""Drawing a random CaptionedShapes scene: its attributes and the exact placement of its objects.

Two objects are placed by their relation: ``left of`` puts objects[0] on the left and objects[1] on the
right, ``above`` puts objects[0] at the top and objects[1] at the bottom (and the reverse for ``right of`` /
``below``). Objects never overlap and never leave the image.
"""

from __future__ import annotations

import numpy as np

from .grammar import COLORS, POSITIONS, RELATIONS, SHAPES, SIZES, SceneAttributes, ShapeObject
from .render import DIAMETER_JITTER, POSITION_CENTERS, POSITION_JITTER, SIZE_DIAMETERS, PlacedObject

__all__ = ["RELATION_POSITIONS", "sample_scene"]

#: relation of objects[0] to objects[1] -> (position of objects[0], position of objects[1])
RELATION_POSITIONS: dict[str, tuple[str, str]] = {
    "left of": ("left", "right"),
    "right of": ("right", "left"),
    "above": ("top", "bottom"),
    "below": ("bottom", "top"),
}


def sample_scene(
    rng: np.random.Generator, max_objects: int
) -> tuple[SceneAttributes, tuple[PlacedObject, ...]]:
    """Draw one scene: its attributes and its objects' placement (aligned with ``attributes.objects``).

    The object count is uniform in ``1..max_objects``; two objects get distinct (shape, colour) pairs, so that
    a caption can refer to each unambiguously.

    Args:
        rng: the item's own generator (never a global one).
        max_objects: 1 or 2.
    """
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
        pos = RELATION_POSITIONS[relation]
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
