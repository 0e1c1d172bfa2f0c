"""The checks every registered text encoder (kind ``"text_encoder"``) and image encoder (``"image_encoder"``) passes.

Text encoders: ``encoder(captions) -> TextFeatures`` with the declared widths, a real token in every row, a batch of
one equal to the first row in eval, determinism, ``freeze()`` that sticks, empty captions refused, a boolean
``uses_vocabulary``, and finite gradients when trainable. Image encoders: ``encoder(images) -> (regions, code)`` of
width ``embed_dim``, gradients that reach the images (the DAMSM loss trains the generator through them), batch of
one, determinism, bf16 autocast close to fp32.
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from ._assert import expect, expect_close, expect_finite
from .example import run

__all__ = ["TEXT_ENCODER_CHECKS", "IMAGE_ENCODER_CHECKS"]

Factory = Callable[[int], Any]


def _captions(example: Any) -> list[str]:
    captions = example.args[0]
    expect(isinstance(captions, list) and all(isinstance(c, str) for c in captions),
           "the text-encoder example must pass a list of caption strings as its first argument")
    return captions


# ---------------------------------------------------------------------------------------------- text encoders
def text_features(factory: Factory, name: str) -> None:
    """Words ``(B, T, word_dim)``, sentence ``(B, sentence_dim)``, mask ``(B, T)`` bool with a real token per row."""
    example = factory(3)
    enc = example.module
    for attr in ("word_dim", "sentence_dim"):
        expect(isinstance(getattr(enc, attr, None), int), f"{name}: must expose an integer {attr!r}")
    expect(isinstance(getattr(type(enc), "uses_vocabulary", None), bool),
           f"{name}: must declare the class attribute uses_vocabulary (True when it maps words through a Vocabulary)")
    enc.eval()
    with torch.no_grad():
        out = run(example)
    batch = len(_captions(example))
    words, sentence, mask = out.words, out.sentence, out.mask
    expect(words.ndim == 3 and words.shape[0] == batch and words.shape[2] == enc.word_dim,
           f"{name}: words {tuple(words.shape)} is not (B={batch}, T, word_dim={enc.word_dim})")
    expect(tuple(sentence.shape) == (batch, enc.sentence_dim),
           f"{name}: sentence {tuple(sentence.shape)} is not (B={batch}, sentence_dim={enc.sentence_dim})")
    expect(mask.dtype == torch.bool and tuple(mask.shape) == tuple(words.shape[:2]),
           f"{name}: mask must be bool (B, T), got {mask.dtype} {tuple(mask.shape)}")
    expect(bool(mask.any(dim=1).all()), f"{name}: every caption needs at least one real token in the mask")
    expect_finite(words, f"{name}: words")
    expect_finite(sentence, f"{name}: sentence")


def text_batch_size_one(factory: Factory, name: str) -> None:
    """In eval mode, one caption alone gives the first row of a batch (over its real tokens)."""
    example = factory(3)
    example.module.eval()
    captions = _captions(example)
    with torch.no_grad():
        full = run(example)
        single = run(example, ([captions[0]], *example.args[1:]))
    expect_close(single.sentence, full.sentence[:1], f"{name}: sentence of a batch of one", atol=1e-4, rtol=1e-4)
    real = int(single.mask[0].sum())
    expect(int(full.mask[0].sum()) == real, f"{name}: the real-token count of a caption depends on its batch")
    expect_close(single.words[0, :real], full.words[0, :real], f"{name}: words of a batch of one", atol=1e-4, rtol=1e-4)


def text_determinism(factory: Factory, name: str) -> None:
    """Eval-mode features do not depend on the global RNG."""
    example = factory(2)
    example.module.eval()
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        first = run(example)
        torch.manual_seed(4321)
        second = run(example)
    expect(torch.equal(first.sentence, second.sentence) and torch.equal(first.words, second.words),
           f"{name}: eval-mode features differ between calls")


def text_freeze(factory: Factory, name: str) -> None:
    """``freeze()`` stops every gradient and keeps eval mode through a parent's ``train()``."""
    example = factory(2)
    enc = example.module
    expect(callable(getattr(enc, "freeze", None)), f"{name}: must have freeze() (GAN training uses frozen encoders)")
    enc.freeze()
    expect(not any(p.requires_grad for p in enc.parameters()), f"{name}: freeze() left parameters trainable")
    enc.train()
    expect(not enc.training, f"{name}: a frozen encoder must stay in eval mode after train()")


def text_rejects_empty_captions(factory: Factory, name: str) -> None:
    """An empty or blank caption is refused with a ValueError naming ``captions``."""
    example = factory(2)
    example.module.eval()
    for bad in ([""], ["a caption", "   "]):
        try:
            run(example, (bad, *example.args[1:]))
        except ValueError as err:
            expect("caption" in str(err), f"{name}: the error for an empty caption should name the captions: {err}")
        else:
            raise AssertionError(f"{name}: accepted the empty caption in {bad!r}")


def text_gradients(factory: Factory, name: str) -> None:
    """When the encoder is trainable (DAMSM pre-training), every trainable parameter gets a finite gradient."""
    example = factory(2)
    enc = example.module
    if hasattr(enc, "unfreeze"):
        enc.unfreeze()
    trainable = [(n, p) for n, p in enc.named_parameters() if p.requires_grad]
    if not trainable:
        return
    enc.train()
    out = run(example)
    generator = torch.Generator().manual_seed(0)
    loss = (out.sentence * torch.randn(out.sentence.shape, generator=generator)).sum() + (
        out.words * torch.randn(out.words.shape, generator=generator) * out.mask[..., None]).sum()
    loss.backward()
    got = [n for n, p in trainable if p.grad is not None]
    expect(got, f"{name}: no trainable parameter got a gradient")
    for n, p in trainable:
        if p.grad is not None:
            expect_finite(p.grad, f"{name}: gradient of {n}")


TEXT_ENCODER_CHECKS: dict[str, Callable[[Factory, str], None]] = {
    "features": text_features,
    "batch_size_one": text_batch_size_one,
    "eval_determinism": text_determinism,
    "freeze": text_freeze,
    "rejects_empty_captions": text_rejects_empty_captions,
    "gradients": text_gradients,
}


# ---------------------------------------------------------------------------------------------- image encoders
def _image_outputs(example: Any, images: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    out = run(example, (images,) if images is not None else None)
    expect(isinstance(out, (tuple, list)) and len(out) == 2, "an image encoder returns (regions, code)")
    return out[0], out[1]


def image_outputs(factory: Factory, name: str) -> None:
    """``regions (B, E, h, w)`` and ``code (B, E)`` with ``E = embed_dim``, finite."""
    example = factory(2)
    enc = example.module
    expect(isinstance(getattr(enc, "embed_dim", None), int), f"{name}: must expose an integer embed_dim")
    enc.eval()
    with torch.no_grad():
        regions, code = _image_outputs(example)
    expect(regions.ndim == 4 and regions.shape[:2] == (2, enc.embed_dim),
           f"{name}: regions {tuple(regions.shape)} is not (B=2, E={enc.embed_dim}, h, w)")
    expect(tuple(code.shape) == (2, enc.embed_dim), f"{name}: code {tuple(code.shape)} is not (B=2, E={enc.embed_dim})")
    expect_finite(regions, f"{name}: regions")
    expect_finite(code, f"{name}: code")


def image_input_gradients(factory: Factory, name: str) -> None:
    """Gradients reach the input images, finite and non-zero, also with the encoder frozen."""
    example = factory(2)
    enc = example.module
    if hasattr(enc, "freeze"):
        enc.freeze()
    else:
        enc.requires_grad_(False).eval()
    images = example.args[0].detach().clone().requires_grad_(True)
    regions, code = _image_outputs(example, images)
    generator = torch.Generator().manual_seed(0)
    loss = (regions * torch.randn(regions.shape, generator=generator)).sum() + (
        code * torch.randn(code.shape, generator=generator)).sum()
    loss.backward()
    expect(images.grad is not None, f"{name}: no gradient reached the images")
    expect_finite(images.grad, f"{name}: image gradient")
    expect(images.grad.abs().sum() > 0, f"{name}: all-zero image gradient")


def image_batch_size_one(factory: Factory, name: str) -> None:
    """In eval mode one image alone gives the first row of a batch."""
    example = factory(2)
    example.module.eval()
    images = example.args[0]
    with torch.no_grad():
        full = _image_outputs(example)
        single = _image_outputs(example, images[:1])
    for a, b, what in zip(single, full, ("regions", "code")):
        expect_close(a, b[:1], f"{name}: {what} of a batch of one", atol=1e-4, rtol=1e-4)


def image_determinism(factory: Factory, name: str) -> None:
    """Eval-mode outputs do not depend on the global RNG."""
    example = factory(2)
    example.module.eval()
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        first = _image_outputs(example)
        torch.manual_seed(4321)
        second = _image_outputs(example)
    expect(all(torch.equal(a, b) for a, b in zip(first, second)), f"{name}: eval-mode outputs differ between calls")


def image_bf16_autocast(factory: Factory, name: str) -> None:
    """bf16 CPU autocast stays within ``bf16_atol`` (relative to the output scale) of fp32."""
    example = factory(2)
    example.module.eval()
    with torch.no_grad():
        reference = _image_outputs(example)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = _image_outputs(example)
    for ref, out, what in zip(reference, low, ("regions", "code")):
        expect_finite(out, f"{name}: bf16 {what}")
        scale = max(1.0, ref.abs().max().item())
        err = (out.float() - ref).abs().max().item()
        limit = example.bf16_atol * scale
        expect(err <= limit, f"{name}: bf16 {what} error {err:.3g} > {limit:.3g}")


IMAGE_ENCODER_CHECKS: dict[str, Callable[[Factory, str], None]] = {
    "outputs": image_outputs,
    "input_gradients": image_input_gradients,
    "batch_size_one": image_batch_size_one,
    "eval_determinism": image_determinism,
    "bf16_autocast": image_bf16_autocast,
}
