"""The checks every registered generator (kind ``"generator"``) and discriminator (``"discriminator"``) passes.

Generators: ``generator(z, sentence, words, mask, return_attention=...) -> GeneratorOutput`` with one image per
``image_sizes`` entry in ``[-1, 1]``, attention maps ``(B, T, h, w)`` (none with ``return_attention=False``), a
finite gradient for every parameter, images that depend on the noise and on the sentence, a batch of one equal to
the first row in eval, and eval determinism. Discriminators: ``d(images, sentence, wrong_sentence) ->
DiscriminatorOutput`` with ``(B,)`` logits, the wrong-caption logits equal to the conditional logits of the wrong
sentence, gradients that reach the images (MA-GP), batch of one and determinism in eval.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

import torch

from ._assert import expect, expect_close, expect_finite

__all__ = ["GENERATOR_CHECKS", "DISCRIMINATOR_CHECKS"]

Factory = Callable[[int], Any]


def _g_inputs(example: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    expect(len(example.args) == 4, "a generator example passes (z, sentence, words, mask)")
    return example.args


def generator_outputs(factory: Factory, name: str) -> None:
    """Images per output scale (declared ``image_sizes``) in [-1, 1]; attention maps only when asked for."""
    example = factory(2)
    g = example.module
    sizes = list(getattr(g, "image_sizes", []))
    expect(sizes, f"{name}: must expose image_sizes (the output resolutions, smallest first)")
    expect(isinstance(getattr(g, "z_dim", None), int), f"{name}: must expose an integer z_dim")
    z, sentence, words, mask = _g_inputs(example)
    g.eval()
    with torch.no_grad():
        out = g(z, sentence, words, mask, return_attention=True)
        lean = g(z, sentence, words, mask, return_attention=False)
    expect([tuple(i.shape) for i in out.images] == [(2, 3, s, s) for s in sizes],
           f"{name}: images {[tuple(i.shape) for i in out.images]} do not match image_sizes {sizes}")
    for image in out.images:
        expect_finite(image, f"{name}: image")
        expect(float(image.min()) >= -1.0 - 1e-5 and float(image.max()) <= 1.0 + 1e-5, f"{name}: images leave [-1, 1]")
    for attn in out.attention:
        expect(attn.ndim == 4 and attn.shape[:2] == words.shape[:2],
               f"{name}: attention {tuple(attn.shape)} is not (B, T={words.shape[1]}, h, w)")
        expect_finite(attn, f"{name}: attention")
    expect(lean.attention == [], f"{name}: return_attention=False must return no attention maps")
    for a, b in zip(out.images, lean.images):
        expect_close(a, b, f"{name}: images with and without attention maps")


def generator_gradients(factory: Factory, name: str) -> None:
    """Every parameter gets a finite gradient in training mode."""
    example = factory(2)
    g = example.module
    g.train()
    out = g(*_g_inputs(example), return_attention=False)
    generator = torch.Generator().manual_seed(0)
    loss = sum((i * torch.randn(i.shape, generator=generator)).sum() for i in out.images)
    if out.mu is not None:
        loss = loss + out.mu.sum() + out.logvar.sum()
    loss.backward()
    for pname, p in g.named_parameters():
        expect(p.grad is not None, f"{name}: parameter {pname} got no gradient")
        expect_finite(p.grad, f"{name}: gradient of {pname}")


def generator_conditioning(factory: Factory, name: str) -> None:
    """In eval mode the images change with the noise and with the sentence (checked on a copy whose parameters are
    slightly perturbed: some blocks, e.g. DF-GAN's affine, start as an identity that ignores the sentence)."""
    example = factory(2)
    g = copy.deepcopy(example.module)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in g.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=generator))
    g.eval()
    z, sentence, words, mask = _g_inputs(example)
    with torch.no_grad():
        base = g(z, sentence, words, mask, return_attention=False).images[-1]
        other_z = g(z.flip(0), sentence, words, mask, return_attention=False).images[-1]
        other_s = g(z, sentence.flip(0), words, mask, return_attention=False).images[-1]
    expect(not torch.allclose(base, other_z), f"{name}: the images do not depend on the noise z")
    expect(not torch.allclose(base, other_s), f"{name}: the images do not depend on the sentence")


def generator_batch_size_one(factory: Factory, name: str) -> None:
    """In eval mode one sample alone gives the first row of a batch."""
    example = factory(3)
    g = example.module
    g.eval()
    args = _g_inputs(example)
    with torch.no_grad():
        full = g(*args, return_attention=False).images
        single = g(*(a[:1] for a in args), return_attention=False).images
    for a, b in zip(single, full):
        expect_close(a, b[:1], f"{name}: image of a batch of one", atol=1e-4, rtol=1e-4)


def generator_determinism(factory: Factory, name: str) -> None:
    """Eval-mode images do not depend on the global RNG (for a given z)."""
    example = factory(2)
    g = example.module
    g.eval()
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        first = g(*_g_inputs(example), return_attention=False).images
        torch.manual_seed(77)
        second = g(*_g_inputs(example), return_attention=False).images
    expect(all(torch.equal(a, b) for a, b in zip(first, second)), f"{name}: eval-mode images differ between calls")


GENERATOR_CHECKS: dict[str, Callable[[Factory, str], None]] = {
    "outputs": generator_outputs,
    "gradients": generator_gradients,
    "conditioning": generator_conditioning,
    "batch_size_one": generator_batch_size_one,
    "eval_determinism": generator_determinism,
}


# ---------------------------------------------------------------------------------------------- discriminators
def _d_inputs(example: Any) -> tuple[torch.Tensor, torch.Tensor]:
    expect(len(example.args) == 2, "a discriminator example passes (images, sentence)")
    return example.args


def discriminator_outputs(factory: Factory, name: str) -> None:
    """``(B,)`` logits for the caption, the wrong caption and (if any) unconditional; no caption: no cond logits."""
    example = factory(3)
    d = example.module
    images, sentence = _d_inputs(example)
    d.eval()
    with torch.no_grad():
        out = d(images, sentence, sentence.roll(1, 0))
        bare = d(images)
        wrong_alone = d(images, sentence.roll(1, 0))
    expect(out.features.shape[0] == 3, f"{name}: features must keep the batch on dim 0")
    for field in ("cond", "wrong"):
        logits = getattr(out, field)
        expect(logits is not None and tuple(logits.shape) == (3,), f"{name}: {field} logits must be (B,)")
        expect_finite(logits, f"{name}: {field} logits")
    expect(out.uncond is None or tuple(out.uncond.shape) == (3,), f"{name}: uncond logits must be (B,) or None")
    expect(bare.cond is None and bare.wrong is None, f"{name}: without a sentence there are no conditional logits")
    expect_close(out.wrong, wrong_alone.cond, f"{name}: wrong-caption logits vs conditional logits of that caption",
                 atol=1e-5, rtol=1e-4)


def discriminator_gradients(factory: Factory, name: str) -> None:
    """Gradients reach the images and the sentence (MA-GP needs both) and every parameter, finite."""
    example = factory(2)
    d = example.module
    d.train()
    images, sentence = (t.detach().clone().requires_grad_(True) for t in _d_inputs(example))
    out = d(images, sentence)
    loss = out.cond.sum() + (out.uncond.sum() if out.uncond is not None else 0.0)
    loss.backward()
    for what, t in (("images", images), ("sentence", sentence)):
        grad = t.grad
        expect_finite(grad, f"{name}: gradient of the {what}")
        expect(grad is not None and bool(grad.abs().sum() > 0), f"{name}: no gradient reached the {what}")
    for pname, p in d.named_parameters():
        if p.grad is not None:
            expect_finite(p.grad, f"{name}: gradient of {pname}")


def discriminator_batch_size_one(factory: Factory, name: str) -> None:
    """In eval mode one image alone gives the first row of a batch."""
    example = factory(3)
    d = example.module
    d.eval()
    images, sentence = _d_inputs(example)
    with torch.no_grad():
        full = d(images, sentence)
        single = d(images[:1], sentence[:1])
    expect_close(single.cond, full.cond[:1], f"{name}: cond logits of a batch of one", atol=1e-4, rtol=1e-4)


def discriminator_determinism(factory: Factory, name: str) -> None:
    """Eval-mode logits do not depend on the global RNG."""
    example = factory(2)
    d = example.module
    d.eval()
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        first = d(*_d_inputs(example)).cond
        torch.manual_seed(55)
        second = d(*_d_inputs(example)).cond
    expect(torch.equal(first, second), f"{name}: eval-mode logits differ between calls")


DISCRIMINATOR_CHECKS: dict[str, Callable[[Factory, str], None]] = {
    "outputs": discriminator_outputs,
    "gradients": discriminator_gradients,
    "batch_size_one": discriminator_batch_size_one,
    "eval_determinism": discriminator_determinism,
}
