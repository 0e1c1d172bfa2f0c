"""CaptionedShapes geometry and rasterisation: where each shape sits and how it is drawn.

All lengths are fractions of the image width ``W`` (the image is square; x right, y down):

* diameter ``d``: small = 0.18, large = 0.36 (``SIZE_DIAMETERS``), with a jitter of ±0.01.
* circle: diameter ``d``; square: side ``0.85 d``; triangle: equilateral, apex up, circumradius ``0.6 d``,
  centred on its centroid. So the pixel centroid of every shape is its centre, and areas differ by ~4x
  between sizes.
* position = region of the centre: anchors ``left (0.25, 0.5)``, ``right (0.75, 0.5)``, ``top (0.5, 0.25)``,
  ``bottom (0.5, 0.75)``, ``center (0.5, 0.5)`` (``POSITION_CENTERS``), jittered by at most ±0.025 per
  axis; [position_from_centroid][fusionblocks.data.shapes.render.position_from_centroid] maps a measured
  centroid back to a region.

Shapes are drawn on a black background (RGB (0, 0, 0), i.e. -1 after normalisation) with antialiasing by
supersampling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from ..._checks import check_positive_int
from .grammar import COLORS, SHAPES, ShapeObject

__all__ = [
    "BACKGROUND",
    "SIZE_DIAMETERS",
    "POSITION_CENTERS",
    "SQUARE_SIDE",
    "TRIANGLE_CIRCUMRADIUS",
    "POSITION_JITTER",
    "DIAMETER_JITTER",
    "PlacedObject",
    "position_from_centroid",
    "render_scene",
]

BACKGROUND: tuple[int, int, int] = (0, 0, 0)
SIZE_DIAMETERS: dict[str, float] = {"small": 0.18, "large": 0.36}
POSITION_CENTERS: dict[str, tuple[float, float]] = {
    "left": (0.25, 0.5),
    "right": (0.75, 0.5),
    "top": (0.5, 0.25),
    "bottom": (0.5, 0.75),
    "center": (0.5, 0.5),
}
SQUARE_SIDE = 0.85  # square side, as a fraction of the diameter
TRIANGLE_CIRCUMRADIUS = 0.6  # triangle circumradius, as a fraction of the diameter
POSITION_JITTER = 0.025  # largest offset of a centre from its region's anchor, per axis
DIAMETER_JITTER = 0.01  # largest offset of a diameter from its size's nominal value


@dataclass(frozen=True)
class PlacedObject:
    """Exact geometry of one rendered object, in fractions of the image width (x right, y down).

    Attributes:
        object: the object's attributes.
        cx: centre (and pixel centroid) x.
        cy: centre y.
        diameter: the object's diameter ``d`` (see this module's docstring for each shape's extent).
    """

    object: ShapeObject
    cx: float
    cy: float
    diameter: float


def position_from_centroid(cx: float, cy: float) -> str:
    """The region (``POSITIONS``) whose anchor is nearest to a centroid given in fractions of the width."""
    return min(
        POSITION_CENTERS,
        key=lambda p: (POSITION_CENTERS[p][0] - cx) ** 2 + (POSITION_CENTERS[p][1] - cy) ** 2,
    )


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
    chw = (img * np.float32(1 / 127.5) - np.float32(1.0)).transpose(2, 0, 1)
    return torch.from_numpy(np.ascontiguousarray(chw))
