"""Datasets: procedural CaptionedShapes, user folders of captioned images, AttnGAN-format CUB-200/COCO; collate.

Every dataset returns dict items with images in [-1, 1] (``images``: a pyramid, smallest first; ``image``: its last
level); [`collate_captions`][fusionblocks.data.collate.collate_captions] batches them in order, without sorting by
caption length.
"""

from __future__ import annotations

from .attngan import (
    CAPTIONS_PICKLES,
    AttnGANDataset,
    COCODataset,
    CUBDataset,
    find_captions_pickle,
    read_class_info,
    read_cub_bboxes,
    read_key_list,
)
from .caption_folder import CaptionFolder
from .collate import collate_captions
from .dataset_vocabulary import (
    VocabularySource,
    dataset_captions,
    dataset_vocabulary,
    encoder_uses_vocabulary,
    explicit_vocabulary,
    load_vocabulary,
    vocabulary_for_config,
)
from .export import write_attngan_layout, write_caption_folder
from .image_folder import ImageFolder, centre_square
from .item_random import item_generator
from .pyramid import pyramid, pyramid_sizes
from .shapes import (
    BACKGROUND,
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
from .tokens import caption_tokens, subsample_words
from .transforms import bbox_crop_box, image_pyramid, resize_crop_flip

__all__ = [
    "AttnGANDataset",
    "CUBDataset",
    "COCODataset",
    "CaptionFolder",
    "CaptionedShapes",
    "BACKGROUND",
    "COLORS",
    "NUM_CLASSES",
    "POSITIONS",
    "RELATIONS",
    "SHAPES",
    "SIZES",
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
    "collate_captions",
    "pyramid",
    "pyramid_sizes",
    "item_generator",
    "caption_tokens",
    "subsample_words",
    "bbox_crop_box",
    "image_pyramid",
    "resize_crop_flip",
    "read_key_list",
    "read_class_info",
    "read_cub_bboxes",
    "CAPTIONS_PICKLES",
    "ImageFolder",
    "write_attngan_layout",
    "write_caption_folder",
    "centre_square",
    "find_captions_pickle",
    "VocabularySource",
    "dataset_captions",
    "dataset_vocabulary",
    "encoder_uses_vocabulary",
    "explicit_vocabulary",
    "load_vocabulary",
    "vocabulary_for_config",
]
