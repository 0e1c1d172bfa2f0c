"""Image encoders with the DAMSM contract: ``images (B,3,H,W) in [-1,1] -> (regions (B,E,h,w), code (B,E))``."""

from __future__ import annotations

from typing import Any

from torch import nn

from ..registry import create as _create
from .damsm_convert import convert_damsm_image_state_dict, load_damsm_image_encoder
from .damsm_inception import INCEPTION_INPUT_SIZE, DAMSMImageEncoder
from .from_config import damsm_image_encoder_from_config, small_cnn_from_config
from .small_cnn import SmallImageEncoder

__all__ = [
    "damsm_image_encoder_from_config",
    "small_cnn_from_config",
    "DAMSMImageEncoder",
    "SmallImageEncoder",
    "INCEPTION_INPUT_SIZE",
    "convert_damsm_image_state_dict",
    "load_damsm_image_encoder",
    "create_image_encoder",
]


def create_image_encoder(name: str, /, **kwargs: Any) -> nn.Module:
    """Build a registered image encoder, e.g. ``create_image_encoder("image.small_cnn", embed_dim=64)``.

    Same as ``fusionblocks.create("image_encoder", name, **kwargs)``.
    """
    return _create("image_encoder", name, **kwargs)
