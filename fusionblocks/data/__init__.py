"""Datasets: procedural CaptionedShapes, user folders of captioned images, AttnGAN-format CUB-200/COCO; collate.

Every dataset returns dict items with images in [-1, 1]; :func:`collate_captions` batches them without sorting.
"""

from __future__ import annotations

from .captioned_shapes import (
    COLORS,
    NUM_CLASSES,
    POSITIONS,
    RELATIONS,
    SHAPES,
    SIZES,
    CaptionedShapes,
    PlacedObject,
    SceneAttributes,
    ShapeObject,
    captions_for_scene,
    class_id_of,
    grammar_words,
    parse_caption,
    position_from_centroid,
    render_scene,
    shapes_vocabulary,
)
from .pyramid import pyramid, pyramid_sizes

__all__ = [
    "COLORS",
    "NUM_CLASSES",
    "POSITIONS",
    "RELATIONS",
    "SHAPES",
    "SIZES",
    "CaptionedShapes",
    "PlacedObject",
    "SceneAttributes",
    "ShapeObject",
    "captions_for_scene",
    "class_id_of",
    "grammar_words",
    "parse_caption",
    "position_from_centroid",
    "render_scene",
    "shapes_vocabulary",
    "pyramid",
    "pyramid_sizes",
]
