"""What a built GAN's frozen encoders and vocabulary came from: weight files with their SHA-256, or random init.

Recorded in [`BuiltGAN.provenance`][fusionblocks.ffgan.builder.BuiltGAN], written into every checkpoint by the
trainer and shown by
``fusionblocks info RUN``.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

__all__ = [
    "RandomEncoderError",
    "file_sha256",
    "encoder_provenance",
    "random_encoders",
    "require_pretrained_encoders",
    "require_damsm_backbone",
]


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes (read in 1 MiB chunks).
    """
    digest = hashlib.sha256()
    with open(os.fspath(path), "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _weights_entry(key: str, path: Any) -> dict[str, Any]:
    if path is None:
        return {key: None}
    text = os.fspath(path)
    return {key: text, f"{key}_sha256": file_sha256(text) if os.path.isfile(text) else None}


def encoder_provenance(config: Any, vocabulary: Any = None) -> dict[str, Any]:
    """The encoders of ``config`` (an ``FFGANConfig``) with their weight files' hashes, and the vocabulary.

    Args:
        config: The model configuration.
        vocabulary: A [`VocabularySource`][fusionblocks.data.dataset_vocabulary.VocabularySource] (or None).

    Returns:
        ``{"text_encoder": {...}, "image_encoder": {...} | None, "vocabulary": {...} | None}``; each encoder
        entry holds its registered name, ``weights`` (path or None), ``weights_sha256``, and ``pretrained``
        (False when the encoder starts from random weights). The Inception image encoder also records
        ``backbone_weights``.
    """
    tc, ic = config.text, config.image
    text: dict[str, Any] = {"name": tc.encoder, **_weights_entry("weights", tc.weights)}
    text["pretrained"] = tc.weights is not None
    image: dict[str, Any] | None = None
    if ic.encoder is not None and config.train.recipe == "ffgan":
        image = {"name": ic.encoder, **_weights_entry("weights", ic.weights)}
        if ic.encoder == "image.damsm_inception":
            image.update(_weights_entry("backbone_weights", ic.backbone_weights))
        image["pretrained"] = ic.weights is not None
    return {
        "text_encoder": text,
        "image_encoder": image,
        "vocabulary": vocabulary.describe() if vocabulary is not None else None,
    }


def random_encoders(config: Any) -> list[str]:
    """The frozen encoders of ``config`` that would start from random weights, as ``"text.weights"`` /
    ``"image.weights"`` / ``"image.backbone_weights"`` keys (empty when everything is pre-trained).

    A frozen text encoder without ``text.weights`` is random; the DAMSM image encoder of the FF-GAN recipe
    (``train.damsm_lambda > 0``) is random without ``image.weights``. ``image.damsm_inception`` also needs its
    ImageNet backbone (``image.backbone_weights``) unless ``image.weights`` holds a whole encoder.
    """
    missing: list[str] = []
    tc, ic, t = config.text, config.image, config.train
    if tc.freeze and tc.weights is None:
        missing.append("text.weights")
    if ic.encoder is not None and t.recipe == "ffgan" and t.damsm_lambda > 0 and ic.weights is None:
        missing.append("image.weights")
    return missing


_HOW_TO_GET_WEIGHTS = (
    "Use the released AttnGAN/DM-GAN DAMSM encoders (text_encoder200.pth / image_encoder200.pth, read directly or "
    "converted with `fusionblocks convert`) with the dataset's captions.pickle, or pre-train your own with "
    "`fusionblocks pretrain-damsm` (docs: tutorials/official-checkpoints.md)"
)


class RandomEncoderError(ValueError):
    """A run would train against (or pre-train on) randomly initialised frozen encoders without saying so."""


def require_pretrained_encoders(config: Any, *, allow_random: bool = False) -> list[str]:
    """Refuse a config whose frozen encoders would be random
    ([`random_encoders`][fusionblocks.ffgan.provenance.random_encoders]), unless ``allow_random``.

    Returns:
        The random encoders' weight keys (empty when everything is pre-trained, or when allowed: then they are
        what the run records as random).

    Raises:
        RandomEncoderError: some encoder has no weights; the message names the keys and where to get weights.
    """
    missing = random_encoders(config)
    if missing and not allow_random:
        keys = ", ".join(missing)
        raise RandomEncoderError(
            f"{keys}: the {config.name!r} recipe trains against frozen, pre-trained encoders, and none were given, "
            f"so they would be random and the text conditioning meaningless. Give "
            + " ".join(f"--set {k}=PATH" for k in missing)
            + f". {_HOW_TO_GET_WEIGHTS}. Pass --allow-random-encoders only for tests and smoke runs"
        )
    return missing


def require_damsm_backbone(config: Any, *, allow_random: bool = False) -> None:
    """Refuse DAMSM pre-training of ``image.damsm_inception`` without ImageNet backbone weights, unless
    ``allow_random``: only the projections are trained, so a random Inception stays random.

    Raises:
        RandomEncoderError: neither ``image.backbone_weights`` nor whole-encoder ``image.weights`` are given.
    """
    ic = config.image
    no_backbone = ic.backbone_weights is None and ic.weights is None
    if ic.encoder == "image.damsm_inception" and no_backbone and not allow_random:
        raise RandomEncoderError(
            "image.backbone_weights: DAMSM pre-training keeps the Inception-v3 backbone frozen and trains only the "
            "projections, so it needs ImageNet Inception-v3 weights from a local file: a torchvision "
            "'inception_v3_google-*.pth' or a timm inception_v3 checkpoint (.pth/.bin/.safetensors); give "
            "--set image.backbone_weights=PATH (nothing is downloaded). Pass --allow-random-encoders only for "
            "tests and smoke runs"
        )
