"""Inception-v3 feature extractor for FID / KID / IS, built on timm with user-supplied local weights.

Nothing is downloaded: weights come from a local file (pytorch-fid's ``pt_inception-2015-12-05-*.pth``, a
torchvision ``inception_v3_google-*.pth`` or a timm ``inception_v3`` checkpoint) or a state dict.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_image_features
from ..state_dict_io import read_state_dict

__all__ = ["InceptionFeatures", "InceptionFeatureExtractor", "load_inception_state_dict", "RESIZE_FILTERS"]

#: Resize filters accepted by
#: [`InceptionFeatureExtractor`][fusionblocks.metrics.inception.InceptionFeatureExtractor] → (torch mode, antialias).
RESIZE_FILTERS: dict[str, tuple[str, bool]] = {
    "bilinear": ("bilinear", False),
    "bilinear-antialias": ("bilinear", True),
    "bicubic": ("bicubic", False),
    "bicubic-antialias": ("bicubic", True),
}

_MISSING_WEIGHTS_HELP = (
    "weights: no Inception weights given and nothing is downloaded. Pass a local file: the pytorch-fid FID "
    "Inception 'pt_inception-2015-12-05-6726825d.pth' (what DM-GAN/DF-GAN FID numbers use; 1008 classes), a "
    "torchvision 'inception_v3_google-*.pth' or a timm inception_v3 checkpoint (.pth/.bin/.safetensors), e.g. "
    "InceptionFeatureExtractor(weights='/path/pt_inception-2015-12-05-6726825d.pth') or `fusionblocks eval "
    "--inception-weights PATH`. Use allow_random_weights=True only for tests: such scores mean nothing and the "
    "output records random_weights=True."
)

_STEM = ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "Pool1", "Conv2d_3b_1x1", "Conv2d_4a_3x3", "Pool2")
_MIXED = (
    ("Mixed_5b", "a"), ("Mixed_5c", "a"), ("Mixed_5d", "a"), ("Mixed_6a", "b"), ("Mixed_6b", "c"),
    ("Mixed_6c", "c"), ("Mixed_6d", "c"), ("Mixed_6e", "c"), ("Mixed_7a", "d"), ("Mixed_7b", "e1"), ("Mixed_7c", "e2"),
)


@dataclass
class InceptionFeatures:
    """Outputs of [`InceptionFeatureExtractor`][fusionblocks.metrics.inception.InceptionFeatureExtractor].

    Attributes:
        pool: Global-average-pooled Mixed_7c features ("pool3").
        logits: Classifier logits.

    Shapes:
        - pool: ``(B, 2048)``; logits: ``(B, K)`` with K = 1008 (pytorch-fid / TF) or 1000 (ImageNet).
    """

    pool: torch.Tensor
    logits: torch.Tensor


def _avg_pool_exclude_pad(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


def _fid_mixed_forward(block: Any, kind: str, x: torch.Tensor) -> torch.Tensor:
    """The TF-2015 Inception blocks that pytorch-fid reproduces: average pools exclude padding, and the last block's
    pool branch is a max pool. Only the pooling differs from the torchvision/timm blocks; the convolutions are the
    block's own."""
    if kind == "a":
        b5 = block.branch5x5_2(block.branch5x5_1(x))
        b3 = block.branch3x3dbl_3(block.branch3x3dbl_2(block.branch3x3dbl_1(x)))
        return torch.cat([block.branch1x1(x), b5, b3, block.branch_pool(_avg_pool_exclude_pad(x))], 1)
    if kind == "c":
        b7 = block.branch7x7_3(block.branch7x7_2(block.branch7x7_1(x)))
        d = x
        for name in ("branch7x7dbl_1", "branch7x7dbl_2", "branch7x7dbl_3", "branch7x7dbl_4", "branch7x7dbl_5"):
            d = getattr(block, name)(d)
        return torch.cat([block.branch1x1(x), b7, d, block.branch_pool(_avg_pool_exclude_pad(x))], 1)
    if kind in ("e1", "e2"):
        t = block.branch3x3_1(x)
        b3 = torch.cat([block.branch3x3_2a(t), block.branch3x3_2b(t)], 1)
        u = block.branch3x3dbl_2(block.branch3x3dbl_1(x))
        bd = torch.cat([block.branch3x3dbl_3a(u), block.branch3x3dbl_3b(u)], 1)
        pooled = _avg_pool_exclude_pad(x) if kind == "e1" else F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
        return torch.cat([block.branch1x1(x), b3, bd, block.branch_pool(pooled)], 1)
    return block(x)  # the reduction blocks (Mixed_6a, Mixed_7a) are identical in both variants


def load_inception_state_dict(weights: str | os.PathLike[str] | Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Read an Inception-v3 state dict from a local file (or take a mapping) and normalise its keys.

    Accepts ``.safetensors`` or torch pickles (read with ``weights_only=True``), optionally wrapped under
    ``state_dict``/``model``; strips ``module.`` prefixes and drops auxiliary-classifier (``AuxLogits.``) keys.

    Raises:
        FileNotFoundError: the path does not exist (the message says how to provide weights).
        ValueError: the file holds no ``fc.weight`` (not an Inception-v3 classifier checkpoint).
    """
    if isinstance(weights, (str, os.PathLike)) and not os.path.isfile(os.fspath(weights)) \
            and not os.path.isdir(os.fspath(weights)):
        raise FileNotFoundError(
            f"weights: file {os.fspath(weights)!r} does not exist. " + _MISSING_WEIGHTS_HELP.split(". ", 1)[1]
        )
    state = read_state_dict(weights, "weights", strip_prefix="")
    cleaned = {}
    for key, value in state.items():
        key = key[len("module."):] if key.startswith("module.") else key
        if key.startswith("AuxLogits."):
            continue
        cleaned[key] = value
    if "fc.weight" not in cleaned:
        raise ValueError("weights: no 'fc.weight' found; expected an Inception-v3 classifier state dict")
    return cleaned


@torch.no_grad()
def _reinit_random(model: nn.Module, seed: int) -> None:
    """Deterministic He-normal init: timm's default init lets random activations grow to ~1e10 over 94 layers."""
    generator = torch.Generator().manual_seed(int(seed))
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            fan_in = module.weight[0].numel()
            module.weight.copy_(torch.randn(module.weight.shape, generator=generator) * (2.0 / fan_in) ** 0.5)
            if module.bias is not None:
                module.bias.zero_()


def _fingerprint(state: Mapping[str, torch.Tensor]) -> str:
    """First 12 hex digits of a SHA-256 over the names and bytes of every weight (BatchNorm counters excluded)."""
    digest = hashlib.sha256()
    for key in sorted(state):
        value = state[key]
        if key.endswith("num_batches_tracked") or not isinstance(value, torch.Tensor):
            continue
        digest.update(key.encode())
        digest.update(value.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return digest.hexdigest()[:12]


class InceptionFeatureExtractor(nn.Module):
    """timm ``inception_v3`` giving 2048-d pool features (FID, KID) and classifier logits (IS).

    Preprocessing (documented in ``docs/evaluation.md``): images in ``[-1, 1]`` are mapped to ``[0, 1]``, resized
    to 299×299 with ``resize_filter`` (default ``"bilinear"``: ``F.interpolate(mode="bilinear",
    align_corners=False)``, what pytorch-fid does inside its model and DF-GAN uses), then normalised as the
    TF/torchvision/timm Inception weights expect: ``(x − 0.5) / 0.5``, i.e. back to ``[-1, 1]``.

    With pytorch-fid's FID weights (1008 classes, auto-detected) the TF-2015 block variants are used
    (``fid_blocks=True``: average pools exclude padding; Mixed_7c pools with max), so features match
    pytorch-fid's, the code behind the DM-GAN / DF-GAN numbers.

    Args:
        weights: Local checkpoint path or state dict. Required unless ``allow_random_weights``.
        allow_random_weights: Build with random weights when ``weights`` is None (tests only; recorded).
        resize_filter: One of ``RESIZE_FILTERS``.
        fid_blocks: Force the pytorch-fid block variant on/off; ``None`` = on iff the classifier has 1008 classes.
        num_classes: Classes of the random-weight model (ignored when weights are given). Default 1008.
        random_seed: Seed of the random weights (He-normal convolutions, so activations keep a sane scale).

    Shapes:
        - images: ``(B, 3, H, W)`` float in ``[-1, 1]``, any H, W.
        - output: [`InceptionFeatures`][fusionblocks.metrics.inception.InceptionFeatures] with ``pool (B, 2048)`` and
          ``logits (B, K)``.
    """

    input_size = 299
    feature_dim = 2048

    def __init__(
        self,
        weights: str | os.PathLike[str] | Mapping[str, torch.Tensor] | None = None,
        *,
        allow_random_weights: bool = False,
        resize_filter: str = "bilinear",
        fid_blocks: bool | None = None,
        num_classes: int = 1008,
        random_seed: int = 0,
    ) -> None:
        super().__init__()
        if resize_filter not in RESIZE_FILTERS:
            raise ValueError(f"resize_filter: expected one of {sorted(RESIZE_FILTERS)}, got {resize_filter!r}")
        if weights is None and not allow_random_weights:
            raise FileNotFoundError(_MISSING_WEIGHTS_HELP)
        import timm  # lazy: importing timm costs seconds

        state = load_inception_state_dict(weights) if weights is not None else None
        classes = int(state["fc.weight"].shape[0]) if state is not None else int(num_classes)
        if state is None:
            self.model = timm.create_model("inception_v3", pretrained=False, num_classes=classes, aux_logits=False)
            _reinit_random(self.model, seed=random_seed)
        else:
            # The weights overwrite every entry: skip timm's (slow, ~5 s) random initialisation. The storage is
            # then uninitialised memory, so every entry must be loaded (BatchNorm counters start at 0), or we raise.
            with torch.device("meta"):
                model = timm.create_model("inception_v3", pretrained=False, num_classes=classes, aux_logits=False)
            self.model = model.to_empty(device="cpu")
            for name, buffer in self.model.named_buffers():
                if name.endswith("num_batches_tracked"):
                    buffer.zero_()
            missing, unexpected = self.model.load_state_dict(state, strict=False)
            missing = [k for k in missing if not k.endswith("num_batches_tracked")]
            if missing or unexpected:
                raise ValueError(
                    f"weights: not an inception_v3 state dict: missing {missing[:5]}"
                    f"{'...' if len(missing) > 5 else ''}, "
                    f"unexpected {list(unexpected)[:5]}{'...' if len(unexpected) > 5 else ''}"
                )
        self.model.eval()
        self.model.requires_grad_(False)
        self.num_classes = classes
        self.fid_blocks = bool(classes == 1008) if fid_blocks is None else bool(fid_blocks)
        self.resize_filter = resize_filter
        self.random_weights = state is None
        if state is None:
            self.weights_name = "random"
        elif isinstance(weights, Mapping):
            self.weights_name = "state_dict"
        elif weights is not None:
            self.weights_name = os.path.basename(os.fspath(weights))
        self.weights_fingerprint = _fingerprint(self.model.state_dict())

    def train(self, mode: bool = True) -> "InceptionFeatureExtractor":
        """The extractor always stays in eval mode (BatchNorm uses its running statistics)."""
        super().train(False)
        return self

    @property
    def description(self) -> dict[str, Any]:
        """What FID comparability depends on: extractor, weights, classes, input size, resize filter, normalisation."""
        return {
            "feature_extractor": "timm inception_v3" + (" (pytorch-fid TF-2015 blocks)" if self.fid_blocks else ""),
            "weights": self.weights_name,
            "weights_fingerprint": self.weights_fingerprint,
            "random_weights": self.random_weights,
            "num_classes": self.num_classes,
            "feature_dim": self.feature_dim,
            "input_size": self.input_size,
            "resize_filter": self.resize_filter,
            "normalisation": "[-1,1] -> [0,1] -> resize -> (x-0.5)/0.5",
        }

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """``[-1, 1]`` images → resized, Inception-normalised ``(B, 3, 299, 299)`` float32."""
        images = check_image_features(images, "images", channels=3)
        x = (images.float() + 1.0) / 2.0
        if tuple(x.shape[-2:]) != (self.input_size, self.input_size):
            mode, antialias = RESIZE_FILTERS[self.resize_filter]
            size = (self.input_size, self.input_size)
            x = F.interpolate(x, size=size, mode=mode, align_corners=False, antialias=antialias)
        return (x - 0.5) / 0.5

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> InceptionFeatures:
        """Pool features and logits of ``images``; see the class docstring for shapes."""
        x = self.preprocess(images).to(next(self.model.parameters()).device)
        for name in _STEM:
            x = getattr(self.model, name)(x)
        for name, kind in _MIXED:
            block = getattr(self.model, name)
            x = _fid_mixed_forward(block, kind, x) if self.fid_blocks else block(x)
        pool = x.mean(dim=(2, 3))
        model: Any = self.model  # timm's Inception-v3
        logits = model.fc(pool)
        return InceptionFeatures(pool=pool, logits=logits)
