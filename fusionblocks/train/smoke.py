"""Shrink any preset to a seconds-long CPU run on CaptionedShapes (the examples' ``--smoke`` flag, tests)."""

from __future__ import annotations

from typing import Any

__all__ = ["smoke_overrides"]


def smoke_overrides(config: Any, *, image_size: int | None = None, width: int = 4) -> dict[str, Any]:
    """Config overrides that keep a preset's structure (stages, fusion, recipe) but make it tiny.

    The dataset becomes 32 single-object CaptionedShapes images; the text encoder becomes a small DAMSM BiLSTM
    over the CaptionedShapes vocabulary; the image encoder (FF-GAN recipe) a small CNN; widths become ``width``.

    Args:
        config: The preset's ``FFGANConfig``.
        image_size: Final resolution (default: 8 · 2^(stages−1), the smallest the builder allows; 16 for DF-GAN).
        width: ``ngf`` / ``ndf`` (and derived widths).

    Returns:
        A ``{dotted key: value}`` mapping for ``build_ffgan(preset, **overrides)`` / ``resolve_config``.
    """
    m = config.model
    if image_size is None:
        image_size = 16 if m.arch == "dfgan" else 8 * 2 ** (m.num_stages - 1)
    region = max(2, image_size // 4)
    out: dict[str, Any] = {
        "model.image_size": image_size,
        "model.ngf": width,
        "model.ndf": width,
        "model.z_dim": 8,
        "model.cond_dim": 8,
        "text.encoder": "text.damsm_bilstm",
        "text.vocabulary": None,  # the dataset (CaptionedShapes) decides
        "text.vocab_size": None,
        "text.weights": None,
        "text.embedding_dim": 8,
        "text.hidden_dim": 16,
        "text.max_words": 16,
        "text.word_dim": None,
        "image.weights": None,
        "image.backbone_weights": None,
        "image.embed_dim": None,
        "train.batch_size": 4,
        "train.steps": 2,
        "train.epochs": None,
        "train.precision": "fp32",
        "train.log_every": 1,
        "train.sample_every": 0,
        "train.checkpoint_every": 0,
        "data.dataset": "captioned_shapes",
        "data.root": None,
        "data.captions_per_image": 3,
        "data.num_workers": 0,
        "data.kwargs": {"size": 32, "max_objects": 1},
    }
    if config.image.encoder is not None:
        out["image.encoder"] = "image.small_cnn"
        out["image.kwargs"] = {"image_size": image_size, "region_size": region, "channels": [8, 16, 16]}
    if m.arch == "dfgan" and m.ffblock_resolutions:
        out["model.ffblock_resolutions"] = [r for r in (8, 16) if r <= image_size]
    return out
