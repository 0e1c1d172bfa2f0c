"""Load the released AttnGAN/DM-GAN/FF-GAN DAMSM image encoder (``image_encoder200.pth``) into our encoder."""

from __future__ import annotations

import os
import re
from typing import Mapping

import torch

from ..state_dict_io import read_state_dict
from .damsm_inception import DAMSMImageEncoder

__all__ = ["convert_damsm_image_state_dict", "load_damsm_image_encoder"]

# The official CNN_ENCODER stores torchvision Inception3 layers as its own attributes, so its keys are
# torchvision names ("Conv2d_1a_3x3.conv.weight", "Mixed_5b.branch1x1.bn.running_mean", ...). timm's
# inception_v3 uses the same layer names; ours live under "backbone.".
_INCEPTION_LAYER = re.compile(r"^(Conv2d_\d[a-z]_\dx\d|Mixed_\d[a-z])\.")
_PROJECTIONS = {
    "emb_features.weight": "region_proj.weight",
    "emb_cnn_code.weight": "code_proj.weight",
    "emb_cnn_code.bias": "code_proj.bias",
}


def convert_damsm_image_state_dict(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Map an official ``CNN_ENCODER`` state dict to
    [`DAMSMImageEncoder`][fusionblocks.image.damsm_inception.DAMSMImageEncoder] keys.

    Inception layers ``<layer>.*`` become ``backbone.<layer>.*``; ``emb_features.weight`` → ``region_proj.weight``
    (1×1 conv), ``emb_cnn_code.{weight,bias}`` → ``code_proj.*``. BatchNorm ``num_batches_tracked`` counters
    missing from old checkpoints are filled with 0. A state dict already in our layout is returned unchanged.

    Raises:
        ValueError: an unexpected key (listing it), e.g. a full classifier checkpoint.

    Shapes:
        ``emb_features.weight (E, 768, 1, 1)``, ``emb_cnn_code.weight (E, 2048)``, ``emb_cnn_code.bias (E,)``.
    """
    state = dict(state_dict)
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    if "region_proj.weight" in state:  # already ours
        return state
    out: dict[str, torch.Tensor] = {}
    unexpected = []
    for key, value in state.items():
        if key in _PROJECTIONS:
            out[_PROJECTIONS[key]] = value
        elif _INCEPTION_LAYER.match(key):
            out["backbone." + key] = value
        else:
            unexpected.append(key)
    if unexpected:
        raise ValueError(f"state_dict: unexpected keys for a DAMSM image encoder: {sorted(unexpected)[:6]}")
    for key in list(out):
        if key.endswith(".bn.running_mean"):
            counter = key[: -len("running_mean")] + "num_batches_tracked"
            out.setdefault(counter, torch.tensor(0, dtype=torch.long))
    return out


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
