"""The built-in image encoders' registry entries, with how each is built from a model config's ``image`` section.

The builder looks an encoder up by its registered name (``image.encoder``) and calls the ``from_config`` given at
registration: ``from_config(config, *, embed_dim)``. A plugin encoder registered without one is built as
``Encoder(embed_dim=..., **image.kwargs)`` and ``image.weights``, when set, is loaded into it.
"""

from __future__ import annotations

from typing import Any

from ..registry import create, register
from ..state_dict_io import read_state_dict
from .damsm_inception import DAMSMImageEncoder
from .small_cnn import SmallImageEncoder

__all__ = ["damsm_image_encoder_from_config", "small_cnn_from_config"]


def damsm_image_encoder_from_config(config: Any, *, embed_dim: int) -> DAMSMImageEncoder:
    """``image.damsm_inception``: released projections ``image.weights``, Inception ``image.backbone_weights``."""
    ic = config.image
    kwargs: dict[str, Any] = {"weights": ic.weights, "backbone_weights": ic.backbone_weights, **ic.kwargs}
    return create("image_encoder", "image.damsm_inception", embed_dim=embed_dim, **kwargs)


def small_cnn_from_config(config: Any, *, embed_dim: int) -> SmallImageEncoder:
    """``image.small_cnn``: laid out for ``model.image_size`` unless ``image.kwargs`` says otherwise; weights from
    ``image.weights`` (a state dict file written by DAMSM pre-training)."""
    ic = config.image
    kwargs: dict[str, Any] = {"image_size": config.model.image_size, **ic.kwargs}
    encoder = create("image_encoder", "image.small_cnn", embed_dim=embed_dim, **kwargs)
    if ic.weights is not None:
        encoder.load_state_dict(read_state_dict(ic.weights, "image.weights"))
    return encoder


register(
    "image_encoder", "image.damsm_inception", DAMSMImageEncoder, from_config=damsm_image_encoder_from_config,
    paper="AttnGAN, arXiv 1711.10485",
)
register("image_encoder", "image.small_cnn", SmallImageEncoder, from_config=small_cnn_from_config)
