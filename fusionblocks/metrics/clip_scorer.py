"""CLIP score with open_clip and local weights: ``100 · max(cos(image_emb, text_emb), 0)``, averaged."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_image_features
from ..text.clip_short import short_text_forward

__all__ = ["CLIPScorer", "CLIPScoreResult", "clip_score"]


@dataclass(frozen=True)
class CLIPScoreResult:
    """Mean and std of per-image CLIP scores (each in ``[0, 100]``) and how many images were scored."""

    mean: float
    std: float
    num_samples: int


class CLIPScorer(nn.Module):
    """Per-image CLIP score of generated images against the captions they were generated from.

    ``score_i = 100 · max(cos(E_img(x_i), E_txt(c_i)), 0)`` (the definition of Hessel et al. 2021 with w = 100, as in
    torchmetrics' ``CLIPScore``; GALIP reports the plain cosine, i.e. this value / 100). Images in ``[-1, 1]`` are
    mapped to ``[0, 1]``, resized (shortest side, bicubic with antialias) and centre-cropped to the model's input
    size, then normalised with the model's mean/std (the open_clip preprocessing, done on tensors).

    Args:
        model_name: open_clip architecture, e.g. ``"ViT-B-32"``.
        pretrained: Path to a local open_clip checkpoint (``.pt``/``.bin``/``.safetensors``). Hub tags such as
            ``"openai"`` are refused: nothing is downloaded.
        allow_random_weights: Allow ``pretrained=None`` (random weights; tests only, recorded in ``description``).
        device: Device of the model.

    Shapes:
        - images: ``(B, 3, H, W)`` in ``[-1, 1]``; captions: ``B`` strings.
        - output of ``forward``: ``(B,)`` scores in ``[0, 100]``.
    """

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(
        self,
        model_name: str = "ViT-B-32",
        pretrained: str | os.PathLike[str] | None = None,
        *,
        allow_random_weights: bool = False,
        device: str | torch.device = "cpu",
    ) -> None:
        super().__init__()
        if pretrained is None and not allow_random_weights:
            raise FileNotFoundError(
                "pretrained: no CLIP weights given and nothing is downloaded. Pass the path of a local open_clip "
                f"checkpoint for {model_name!r} (e.g. the OpenAI ViT-B-32 weights saved as .pt/.safetensors), or "
                "allow_random_weights=True for tests (the score is then meaningless and recorded as random)."
            )
        if pretrained is not None and not os.path.isfile(os.fspath(pretrained)):
            raise FileNotFoundError(
                f"pretrained: {os.fspath(pretrained)!r} is not a local file; hub tags (e.g. 'openai') are not "
                "downloaded by fusionblocks: download the checkpoint yourself and pass its path"
            )
        import open_clip  # lazy: importing open_clip costs seconds

        self.model = open_clip.create_model(
            model_name, pretrained=os.fspath(pretrained) if pretrained is not None else None, device=device
        )
        self.model.eval().requires_grad_(False)
        self.tokenizer = open_clip.get_tokenizer(model_name)
        cfg = getattr(self.model.visual, "preprocess_cfg", None) or {}
        size = cfg.get("size", getattr(self.model.visual, "image_size", 224))
        self.image_size = (size, size) if isinstance(size, int) else tuple(size)
        mean = cfg.get("mean", open_clip.OPENAI_DATASET_MEAN)
        std = cfg.get("std", open_clip.OPENAI_DATASET_STD)
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
        self.model_name = model_name
        self.weights_name = "random" if pretrained is None else os.path.basename(os.fspath(pretrained))
        self.random_weights = pretrained is None
        self.to(device)

    def train(self, mode: bool = True) -> "CLIPScorer":
        """The scorer always stays in eval mode."""
        super().train(False)
        return self

    @property
    def description(self) -> dict[str, Any]:
        """Model, weights and the score definition, for the evaluation record."""
        return {
            "model": self.model_name,
            "weights": self.weights_name,
            "random_weights": self.random_weights,
            "input_size": list(self.image_size),
            "definition": "100 * max(cos(image, text), 0), averaged",
        }

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """``[-1, 1]`` images → CLIP-normalised ``(B, 3, h, w)`` at the model's input size."""
        images = check_image_features(images, "images", channels=3)
        x = (images.float() + 1.0) / 2.0
        target_h, target_w = self.image_size
        height, width = x.shape[-2:]
        if (height, width) != (target_h, target_w):
            scale = max(target_h / height, target_w / width)
            new_h, new_w = max(target_h, round(height * scale)), max(target_w, round(width * scale))
            x = F.interpolate(x, size=(new_h, new_w), mode="bicubic", align_corners=False, antialias=True)
            top, left = (new_h - target_h) // 2, (new_w - target_w) // 2
            x = x[..., top : top + target_h, left : left + target_w]
        x = x.clamp(0.0, 1.0)
        return (x - self.mean) / self.std

    @torch.no_grad()
    def encode_images(self, images: torch.Tensor) -> torch.Tensor:
        """Unit-norm image embeddings ``(B, E)`` of ``[-1, 1]`` images ``(B, 3, H, W)``."""
        x = self.preprocess(images).to(self.mean.device)
        return F.normalize(self.model.encode_image(x).float(), dim=-1)

    @torch.no_grad()
    def encode_captions(self, captions: Sequence[str]) -> torch.Tensor:
        """Unit-norm text embeddings ``(M, E)`` of ``M`` captions.

        For CLIP's causal text transformer with end-of-text pooling, the batch runs only up to its longest caption
        instead of the full 77-token context: every position attends to earlier ones only, so the pooled embedding
        is the same (to float round-off), at a fraction of the cost (about 6x fewer FLOPs for 10-word captions).
        Other text towers run ``model.encode_text`` as it is.
        """
        if isinstance(captions, str) or not all(isinstance(c, str) for c in captions):
            raise TypeError("captions: expected a sequence of strings")
        tokens = self.tokenizer(list(captions)).to(self.mean.device)
        return F.normalize(self._encode_text(tokens).float(), dim=-1)

    def _encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        """``model.encode_text`` cut to the batch's longest caption (see ``encode_captions``)."""
        short = short_text_forward(self.model, tokens)
        return self.model.encode_text(tokens) if short is None else short[1]

    @torch.no_grad()
    def forward(self, images: torch.Tensor, captions: Sequence[str]) -> torch.Tensor:
        """Per-image CLIP scores; see the class docstring for shapes."""
        if isinstance(captions, str) or len(captions) != images.shape[0]:
            raise ValueError(f"captions: expected {images.shape[0]} caption strings (one per image)")
        image_emb = self.encode_images(images)
        text_emb = self.encode_captions(captions)
        return 100.0 * (image_emb * text_emb).sum(dim=-1).clamp(min=0.0)


def clip_score(images: torch.Tensor, captions: Sequence[str], scorer: CLIPScorer) -> CLIPScoreResult:
    """Average CLIP score of ``images`` against ``captions`` with ``scorer``.

    Shapes:
        - images: ``(B, 3, H, W)`` in ``[-1, 1]``; captions: ``B`` strings.
    """
    scores = scorer(images, captions).double()
    return CLIPScoreResult(
        mean=float(scores.mean()), std=float(scores.std(unbiased=False)), num_samples=int(scores.numel())
    )
