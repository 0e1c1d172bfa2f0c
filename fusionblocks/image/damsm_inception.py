"""AttnGAN's DAMSM image encoder on a frozen timm Inception-v3 ([FF-GAN: DAMSM encoders][ffgan-damsm-encoders])."""

from __future__ import annotations

import os
from typing import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_image_features, check_positive_int
from ..state_dict_io import read_state_dict
from .damsm_keys import convert_damsm_image_state_dict

__all__ = ["DAMSMImageEncoder", "INCEPTION_INPUT_SIZE"]

INCEPTION_INPUT_SIZE = 299


class DAMSMImageEncoder(nn.Module):
    """DAMSM image encoder (``CNN_ENCODER``): frozen Inception-v3 + trainable region/global projections.

    The image in ``[-1, 1]`` (no ImageNet normalisation, as in the official code) is bilinearly resized to
    299×299 and run through timm's Inception-v3 up to Mixed_7c. Region features are Mixed_6e (768×17×17)
    through a 1×1 conv without bias (``region_proj``); the global code is the average-pooled Mixed_7c (2048)
    through a Linear with bias (``code_proj``). Both projection weights start uniform(−0.1, 0.1).

    The backbone is frozen and always kept in eval mode (its BatchNorm statistics never drift, unlike the
    official pre-training), but gradients still flow to the input images (needed for the DAMSM loss on
    generated images). Load the released ``image_encoder200.pth`` with
    [`fusionblocks.image.load_damsm_image_encoder`][fusionblocks.image.damsm_convert.load_damsm_image_encoder] or pass
    it as ``weights``.

    Args:
        embed_dim: Width E of region and global features (256 in the official models).
        weights: Optional full weights: our state dict, an official ``CNN_ENCODER`` state dict, or a path to
            either (``.pth`` read with ``weights_only=True``, or ``.safetensors``).
        backbone_weights: Optional ImageNet Inception-v3 weights (timm or torchvision names; ``fc``/
            ``AuxLogits`` entries ignored), as a path or state dict. ``weights`` (loaded after it) overrides the
            parts it contains, so ``weights`` may hold only the projections when ``backbone_weights`` is given.
            When either is given, timm's random initialisation of the backbone is skipped.
        align_corners: ``align_corners`` of the bilinear resize to 299. FF-GAN/DM-GAN used ``True``; AttnGAN's
            original code used PyTorch's default (``False`` today). Match the checkpoint.

    Raises:
        ValueError: bad ``embed_dim`` or incompatible weights.

    Shapes:
        forward: images ``(B, 3, H, W)`` in ``[-1, 1]`` → regions ``(B, E, 17, 17)``, code ``(B, E)``.
    """

    def __init__(
        self,
        embed_dim: int = 256,
        weights: str | os.PathLike | Mapping[str, torch.Tensor] | None = None,
        backbone_weights: str | os.PathLike | Mapping[str, torch.Tensor] | None = None,
        align_corners: bool = True,
    ) -> None:
        super().__init__()
        check_positive_int(embed_dim, "embed_dim")
        if not isinstance(align_corners, bool):
            raise TypeError(f"align_corners: expected a bool, got {type(align_corners).__name__}")
        import timm  # lazy: ~4 s import

        self.embed_dim = embed_dim
        self.align_corners = align_corners
        state = None
        if weights is not None:
            state = convert_damsm_image_state_dict(read_state_dict(weights, "weights"))
        backbone_state = read_state_dict(backbone_weights, "backbone_weights") if backbone_weights is not None else None
        if state is None and backbone_state is None:
            self.backbone = timm.create_model(
                "inception_v3", pretrained=False, features_only=True, out_indices=(3, 4)
            )
        else:
            # Weights will overwrite the backbone: skip timm's (slow, ~5 s) random initialisation.
            with torch.device("meta"):
                backbone = timm.create_model(
                    "inception_v3", pretrained=False, features_only=True, out_indices=(3, 4)
                )
            # Uninitialised memory: every entry is loaded below, or the constructor raises.
            self.backbone = backbone.to_empty(device="cpu")
            for name, buffer in self.backbone.named_buffers():
                if name.endswith("num_batches_tracked"):
                    buffer.zero_()
        self.backbone.requires_grad_(False)
        self.region_proj = nn.Conv2d(768, embed_dim, kernel_size=1, bias=False)
        self.code_proj = nn.Linear(2048, embed_dim)
        self.reset_parameters()
        if backbone_state is not None:
            self.load_backbone_weights(backbone_state)
        if state is not None:
            result = self.load_state_dict(state, strict=False)
            needed = [
                k for k in result.missing_keys
                if not k.endswith("num_batches_tracked") and (backbone_state is None or not k.startswith("backbone."))
            ]
            if needed or result.unexpected_keys:
                raise ValueError(
                    f"weights: do not fit DAMSMImageEncoder; missing {needed[:6]}, "
                    f"unexpected {result.unexpected_keys[:6]} (a projection-only state dict needs backbone_weights)"
                )
        self.backbone.eval()

    def reset_parameters(self) -> None:
        """Projection weights uniform(−0.1, 0.1); the Linear bias keeps PyTorch's default initialisation."""
        nn.init.uniform_(self.region_proj.weight, -0.1, 0.1)
        nn.init.uniform_(self.code_proj.weight, -0.1, 0.1)

    def load_backbone_weights(self, path_or_state_dict: str | os.PathLike | Mapping[str, torch.Tensor]) -> None:
        """Load ImageNet Inception-v3 weights (timm/torchvision names) into the frozen backbone.

        Raises:
            ValueError: backbone parameters are missing from the weights.
        """
        state = read_state_dict(path_or_state_dict, "backbone_weights")
        own = self.backbone.state_dict()
        state = {k: v for k, v in state.items() if k in own}
        missing = sorted(k for k in own if k not in state and not k.endswith("num_batches_tracked"))
        if missing:
            raise ValueError(
                f"backbone_weights: not an Inception-v3 state dict; missing {len(missing)} keys, e.g. {missing[:4]}"
            )
        self.backbone.load_state_dict(state, strict=False)

    def train(self, mode: bool = True) -> "DAMSMImageEncoder":
        """Set train mode on the projections (unless
        [`freeze`][fusionblocks.image.damsm_inception.DAMSMImageEncoder.freeze] was called); the backbone always stays
        in eval.
        """
        super().train(False if getattr(self, "_frozen", False) else mode)
        self.backbone.eval()
        return self

    def freeze(self) -> "DAMSMImageEncoder":
        """Freeze the projections too (no gradients, eval mode kept after ``.train()``), as GAN training uses it."""
        self._frozen = True
        self.requires_grad_(False)
        return self.train(False)

    def unfreeze(self) -> "DAMSMImageEncoder":
        """Make the projections trainable again (the backbone stays frozen)."""
        self._frozen = False
        self.region_proj.requires_grad_(True)
        self.code_proj.requires_grad_(True)
        return self

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode images (see the class docstring).

        Shapes:
            images ``(B, 3, H, W)`` → regions ``(B, E, 17, 17)``, code ``(B, E)``.
        """
        images = check_image_features(images, "images", channels=3, like=self)
        x = F.interpolate(
            images,
            size=(INCEPTION_INPUT_SIZE, INCEPTION_INPUT_SIZE),
            mode="bilinear",
            align_corners=self.align_corners,
        )
        mixed_6e, mixed_7c = self.backbone(x)
        regions = self.region_proj(mixed_6e)
        code = self.code_proj(mixed_7c.mean(dim=(2, 3)))
        return regions, code

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, align_corners={self.align_corners}"
