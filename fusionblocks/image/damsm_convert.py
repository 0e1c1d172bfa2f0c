"""Load the released AttnGAN/DM-GAN/FF-GAN DAMSM image encoder (``image_encoder200.pth``) into our encoder."""

from __future__ import annotations

import os
from typing import Mapping

import torch

from ..state_dict_io import read_state_dict
from .damsm_inception import DAMSMImageEncoder
from .damsm_keys import convert_damsm_image_state_dict

__all__ = ["convert_damsm_image_state_dict", "load_damsm_image_encoder"]

def load_damsm_image_encoder(
    path_or_state_dict: str | os.PathLike | Mapping[str, torch.Tensor],
    align_corners: bool = True,
    freeze: bool = True,
) -> DAMSMImageEncoder:
    """Build a [`DAMSMImageEncoder`][fusionblocks.image.damsm_inception.DAMSMImageEncoder] from an official
    ``image_encoder*.pth`` (or our own state dict).

    ``embed_dim`` is inferred from ``emb_features.weight``. Files are read with ``torch.load(weights_only=True)``
    (or safetensors).

    Args:
        path_or_state_dict: A file path or a loaded state dict.
        align_corners: Resize mode; ``True`` matches FF-GAN/DM-GAN, ``False`` AttnGAN's original code.
        freeze: Also freeze the projections (GAN training uses the encoder as a fixed loss network).

    Raises:
        ValueError: the weights do not fit (missing or unexpected keys are listed).

    Shapes:
        See [`DAMSMImageEncoder`][fusionblocks.image.damsm_inception.DAMSMImageEncoder].
    """
    state = convert_damsm_image_state_dict(read_state_dict(path_or_state_dict, "path_or_state_dict"))
    if "region_proj.weight" not in state:
        raise ValueError("path_or_state_dict: no emb_features.weight / region_proj.weight entry")
    embed_dim = int(state["region_proj.weight"].shape[0])
    encoder = DAMSMImageEncoder(embed_dim=embed_dim, weights=state, align_corners=align_corners)
    return encoder.freeze() if freeze else encoder
