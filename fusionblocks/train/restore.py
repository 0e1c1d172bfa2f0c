"""Rebuild a trained GAN from a checkpoint folder (for sampling, evaluation, fine-tuning)."""

from __future__ import annotations

import os
from typing import Any

import torch

from ..ffgan import FFGANConfig, build_ffgan
from ..text import Vocabulary
from .checkpoint import Checkpoint, CheckpointError, check_finite_checkpoint, load_checkpoint
from .state_match import load_matching_state_dict

__all__ = ["load_gan"]


def load_gan(
    path: str | os.PathLike[str] | Checkpoint,
    *,
    device: str | torch.device = "cpu",
    use_ema: bool = True,
    load_discriminators: bool = False,
) -> tuple[Any, Checkpoint]:
    """Build the model stored in a checkpoint and load its weights.

    The configuration saved in the checkpoint is rebuilt with ``fusionblocks.ffgan.build_ffgan``; the encoder
    weights come from the checkpoint itself (the config's weight paths are not needed any more), and the
    vocabulary saved with it is reused.

    Args:
        path: A run folder, its ``checkpoints`` folder or a step folder.
        device: Where to put the modules.
        use_ema: Load the EMA generator weights into ``gan.generator`` (when the checkpoint has them).
        load_discriminators: Also load the discriminators (not needed for sampling).

    Returns:
        ``(gan, checkpoint)``: a ``BuiltGAN`` in eval mode and the loaded
        [`Checkpoint`][fusionblocks.train.checkpoint.Checkpoint].

    Raises:
        CheckpointError: Missing, truncated or corrupt files (named), or a checkpoint without a model config.
        NonFiniteCheckpointError: The weights to be used hold NaN or Inf (a diverged run); names the tensors.
        ModelMismatchError: The saved tensors do not fit the model its config builds; names the keys.
    """
    groups = ["generator", "text_encoder"]
    ck = path if isinstance(path, Checkpoint) else None
    if ck is None:
        assert not isinstance(path, Checkpoint)  # narrowing for type checkers
        probe = load_checkpoint(path, groups=[], load_optimizers=False)
        available = set(probe.meta.get("groups", []))
        if use_ema and "generator_ema" in available:
            groups.append("generator_ema")
        if "image_encoder" in available:
            groups.append("image_encoder")
        if load_discriminators:
            groups.append("discriminators")
        ck = load_checkpoint(probe.path, groups=groups, load_optimizers=False)
    if not ck.config:
        raise CheckpointError(f"{ck.path / 'meta.json'}: holds no model config; cannot rebuild the model")
    config = FFGANConfig.from_dict(ck.config).with_overrides(
        {"text.weights": None, "image.weights": None, "image.backbone_weights": None}
    )
    vocabulary = None
    words = ck.state.get("vocabulary")
    if words:
        vocabulary = Vocabulary(words)
    gan = build_ffgan(config, vocabulary=vocabulary)
    g_group = "generator_ema" if use_ema and "generator_ema" in ck.tensors else "generator"
    modules = {g_group: gan.generator, "text_encoder": gan.text_encoder}
    if gan.image_encoder is not None and "image_encoder" in ck.tensors:
        modules["image_encoder"] = gan.image_encoder
    if load_discriminators and "discriminators" in ck.tensors:
        modules["discriminators"] = gan.discriminators
    check_finite_checkpoint(ck, list(modules))
    for group, module in modules.items():
        load_matching_state_dict(module, ck.tensors[group], group=group, source=ck.path)
    gan.to(device)
    gan.generator.eval()
    gan.discriminators.eval()
    gan.text_encoder.eval()
    if gan.image_encoder is not None:
        gan.image_encoder.eval()
    return gan, ck
