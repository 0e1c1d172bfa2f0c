"""The official DAMSM image encoder's state-dict keys mapped onto ours (no model code: both the encoder and its
loader use it)."""

from __future__ import annotations

import re
from typing import Mapping

import torch

__all__ = ["convert_damsm_image_state_dict"]

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
