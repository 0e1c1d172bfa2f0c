"""Image encoders with the DAMSM contract: ``images (B,3,H,W) in [-1,1] -> (regions (B,E,h,w), code (B,E))``."""

from __future__ import annotations

from .damsm_convert import convert_damsm_image_state_dict, load_damsm_image_encoder
from .damsm_inception import INCEPTION_INPUT_SIZE, DAMSMImageEncoder
from .small_cnn import SmallImageEncoder

__all__ = [
    "DAMSMImageEncoder",
    "SmallImageEncoder",
    "INCEPTION_INPUT_SIZE",
    "convert_damsm_image_state_dict",
    "load_damsm_image_encoder",
]
