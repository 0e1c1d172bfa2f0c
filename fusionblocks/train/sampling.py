"""Generate images from captions with a trained generator (used by the trainer's grids, ``fusionblocks sample``
and the demo)."""

from __future__ import annotations

import contextlib
from typing import Any, Callable, ContextManager, Sequence

import torch
from torch import nn

from .._checks import check_positive_int
from ..text.coverage import warn_unknown_words
from .distributed import unwrap

__all__ = ["generator_z_dim", "make_noise", "generate"]


def generator_z_dim(generator: nn.Module, default: int | None = None) -> int:
    """The generator's noise width (its ``z_dim`` / ``noise_dim`` attribute, else ``default``).

    Raises:
        ValueError: Neither attribute exists and no default was given.
    """
    g = unwrap(generator)
    for attr in ("z_dim", "noise_dim", "nz"):
        value = getattr(g, attr, None)
        if isinstance(value, int) and value > 0:
            return value
    if default is None:
        raise ValueError("generator: has no z_dim attribute; pass z_dim explicitly")
    return default


def make_noise(
    batch: int, z_dim: int, *, seed: int | None = None, truncation: float | None = None, device: Any = "cpu"
) -> torch.Tensor:
    """``z ~ N(0, I)``, drawn on the CPU from its own generator (same numbers on every device).

    Args:
        batch: Number of vectors.
        z_dim: Width.
        seed: Seed of the private generator (``None``: draw from torch's global generator).
        truncation: When given, clamp to ``[-2, 2]`` and multiply by it (DF-GAN's truncation, 0.88).
        device: Where to put the result.

    Shapes:
        Output ``(batch, z_dim)``.
    """
    if batch < 1 or z_dim < 1:
        raise ValueError(f"batch and z_dim must be >= 1, got batch={batch}, z_dim={z_dim}")
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    z = torch.randn(batch, z_dim, generator=gen)
    if truncation is not None:
        if not 0.0 < truncation <= 1.0:
            raise ValueError(f"truncation must be in (0, 1], got {truncation}")
        z = z.clamp(-2.0, 2.0) * truncation
    return z.to(device)


@torch.no_grad()
def generate(
    generator: nn.Module,
    text_encoder: nn.Module,
    captions: Sequence[str],
    *,
    noise: torch.Tensor | None = None,
    seed: int | None = 0,
    truncation: float | None = None,
    batch_size: int = 32,
    autocast: Callable[[], ContextManager] = contextlib.nullcontext,
    return_attention: bool = True,
) -> Any:
    """Encode ``captions`` and run the generator in eval mode (restoring the modules' modes afterwards).

    The global RNG is left untouched (the generator's own randomness, e.g. conditioning augmentation, runs under
    ``torch.random.fork_rng``), so sampling in the middle of training does not change the training run.

    Args:
        generator: The (EMA) generator: ``generator(z, sentence, words, mask, *, return_attention) ->
            GeneratorOutput`` (the generator protocol).
        text_encoder: ``text_encoder(captions) -> TextFeatures``.
        captions: The captions (one image each).
        noise: Explicit ``z`` (else drawn with ``seed``).
        seed: Seed for ``z`` (and for the forked RNG).
        truncation: Optional truncation (see [`make_noise`][fusionblocks.train.sampling.make_noise]).
        batch_size: Captions per forward pass.
        autocast: Autocast context factory.
        return_attention: False asks the generator for no attention maps (``attention == []``; faster, and no
            ``(B, T, H, W)`` maps are kept), e.g. when sampling for metrics.

    Returns:
        A ``GeneratorOutput`` with float32 CPU tensors: ``images`` per scale and ``attention`` per stage.

    Warns:
        UserWarning: some captions have words the text encoder's vocabulary does not know (named; they are dropped).

    Shapes:
        captions: B strings → images ``[(B, 3, S_i, S_i)]``, attention ``[(B, T, H_j, W_j)]`` (T padded to the
        longest caption of all batches).
    """
    if isinstance(captions, str) or not len(captions):
        raise ValueError("captions: expected a non-empty sequence of strings")
    check_positive_int(batch_size, "batch_size")
    if truncation is not None and not (isinstance(truncation, (int, float)) and 0 < truncation < float("inf")):
        raise ValueError(f"truncation: expected a finite number > 0 or None, got {truncation!r}")
    if all(isinstance(c, str) for c in captions):
        warn_unknown_words(getattr(unwrap(text_encoder), "vocabulary", None), captions, stacklevel=2)
    device = next(generator.parameters()).device
    z_dim = generator_z_dim(generator)
    if noise is None:
        noise = make_noise(len(captions), z_dim, seed=seed, truncation=truncation)
    if noise.shape != (len(captions), z_dim):
        raise ValueError(f"noise: expected shape {(len(captions), z_dim)}, got {tuple(noise.shape)}")
    modes = (generator.training, text_encoder.training)
    generator.eval()
    text_encoder.eval()
    outs = []
    devices = [device] if device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=devices):
            if seed is not None:
                torch.manual_seed(seed)
            for start in range(0, len(captions), batch_size):
                chunk = list(captions[start : start + batch_size])
                with autocast():
                    text = text_encoder(chunk)
                    z = noise[start : start + len(chunk)].to(device)
                    out = generator(z, text.sentence, text.words, text.mask, return_attention=return_attention)
                outs.append(out)
    finally:
        generator.train(modes[0])
        text_encoder.train(modes[1])
    return _concat_outputs(outs)


def _concat_outputs(outs: list[Any]) -> Any:
    first = outs[0]
    images = [torch.cat([o.images[k].float().cpu() for o in outs]) for k in range(len(first.images))]
    attention = []
    for k in range(len(first.attention)):
        maps = [o.attention[k].float().cpu() for o in outs]
        t = max(m.shape[1] for m in maps)
        maps = [torch.nn.functional.pad(m, (0, 0, 0, 0, 0, t - m.shape[1])) for m in maps]
        attention.append(torch.cat(maps))

    def cat(name: str) -> torch.Tensor | None:
        vals = [getattr(o, name) for o in outs]
        return None if any(v is None for v in vals) else torch.cat([v.float().cpu() for v in vals])

    return type(first)(images=images, attention=attention, mu=cat("mu"), logvar=cat("logvar"))
