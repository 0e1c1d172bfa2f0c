"""CaptionedShapes: a procedural captioned dataset of coloured shapes, shipped with the library.

Each image shows one or two flat shapes (circle, square, triangle) in one of six saturated colours, small or
large, on a black background. Every item is a pure function of ``(seed, split, index)`` (and of the epoch for
the choice of caption), rendered at any resolution. The ground-truth attributes of every image are known, and
[parse_caption][fusionblocks.data.shapes.grammar.parse_caption] turns any caption of the grammar back into
attributes, so that images generated from an arbitrary caption can be judged (see
[AttributeJudge][fusionblocks.metrics.AttributeJudge]).

The package has one module per concern:

* ``grammar``: attributes, caption templates, the parser and the vocabulary;
* ``render``: geometry and the antialiased rasteriser;
* ``sample``: drawing a random scene;
* ``negatives``: hard negative captions (one attribute changed) for contrastive training and evaluation;
* ``dataset``: the [CaptionedShapes][fusionblocks.data.CaptionedShapes] dataset.
"""

from __future__ import annotations

from .dataset import SPLITS, CaptionedShapes
from .grammar import (
    COLORS,
    INVERSE_RELATION,
    NUM_CLASSES,
    POSITION_PHRASES,
    POSITIONS,
    RELATION_PHRASES,
    RELATIONS,
    SHAPES,
    SIZES,
    TEMPLATES_ONE,
    TEMPLATES_TWO,
    SceneAttributes,
    ShapeObject,
    captions_for_scene,
    class_id_of,
    grammar_words,
    parse_caption,
    render_caption,
    shapes_vocabulary,
)
from .negatives import NEGATIVE_ATTRIBUTES, caption_alternatives, mirrored_caption, sample_hard_negatives
from .render import (
    BACKGROUND,
    DIAMETER_JITTER,
    POSITION_CENTERS,
    POSITION_JITTER,
    SIZE_DIAMETERS,
    SQUARE_SIDE,
    TRIANGLE_CIRCUMRADIUS,
    PlacedObject,
    position_from_centroid,
    render_scene,
)
from .sample import RELATION_POSITIONS, sample_scene

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
    "INVERSE_RELATION",
    "RELATION_POSITIONS",
    "SQUARE_SIDE",
    "TRIANGLE_CIRCUMRADIUS",
    "POSITION_JITTER",
    "DIAMETER_JITTER",
    "TEMPLATES_ONE",
    "TEMPLATES_TWO",
    "NUM_CLASSES",
    "SPLITS",
    "ShapeObject",
    "SceneAttributes",
    "PlacedObject",
    "CaptionedShapes",
    "NEGATIVE_ATTRIBUTES",
    "caption_alternatives",
    "mirrored_caption",
    "sample_hard_negatives",
    "parse_caption",
    "render_caption",
    "captions_for_scene",
    "class_id_of",
    "position_from_centroid",
    "render_scene",
    "sample_scene",
    "grammar_words",
    "shapes_vocabulary",
]
