"""The checks every registered model (kind ``"model"``: presets and plugin models) passes, on a tiny version of it:
it builds a GAN whose discriminators match its output scales, it generates images at ``image_sizes`` from
captions, and one training iteration of its recipe gives finite losses and changes the generator."""

from __future__ import annotations

from typing import Any, Callable

import torch

from ._assert import expect, expect_finite

__all__ = ["MODEL_CHECKS"]

Factory = Callable[[int], Any]


def builds(factory: Factory, name: str) -> None:
    """The GAN has a generator, one discriminator per output scale (or one for single-scale recipes), frozen
    encoders and a recipe."""
    gan = factory(2).module
    for attr in ("generator", "discriminators", "text_encoder", "recipe"):
        expect(getattr(gan, attr, None) is not None, f"{name}: the built model has no {attr}")
    expect(len(gan.discriminators) in (1, len(gan.image_sizes)),
           f"{name}: {len(gan.discriminators)} discriminators for output sizes {gan.image_sizes}")
    for enc in (gan.text_encoder, gan.image_encoder):
        if enc is not None:
            expect(not any(p.requires_grad for p in enc.parameters()), f"{name}: the encoders must be frozen")


def generates(factory: Factory, name: str) -> None:
    """``gan.generate(captions)`` gives images at every ``image_sizes`` entry, in [-1, 1]."""
    example = factory(2)
    gan, batch = example.module, example.args[0]
    out = gan.generate(batch.captions)
    expect([tuple(i.shape[-2:]) for i in out.images] == [(s, s) for s in gan.image_sizes],
           f"{name}: generated sizes {[tuple(i.shape) for i in out.images]} vs image_sizes {gan.image_sizes}")
    for image in out.images:
        expect_finite(image, f"{name}: generated image")
        expect(float(image.abs().max()) <= 1.0 + 1e-5, f"{name}: generated images leave [-1, 1]")


def trains(factory: Factory, name: str) -> None:
    """One recipe iteration: finite losses, and the generator's weights move."""
    example = factory(2)
    gan, batch = example.module, example.args[0]
    optimizers = gan.recipe.build_optimizers(gan.generator, list(gan.discriminators))
    before = [p.detach().clone() for p in gan.generator.parameters()]
    losses = gan.recipe.iteration(gan.train_modules(), batch, optimizers)
    expect(losses, f"{name}: the recipe returned no losses")
    for key, value in losses.items():
        expect_finite(torch.as_tensor(value), f"{name}: loss {key!r}")
    moved = any(not torch.equal(a, p) for a, p in zip(before, gan.generator.parameters()))
    expect(moved, f"{name}: one training iteration left the generator unchanged")


MODEL_CHECKS: dict[str, Callable[[Factory, str], None]] = {
    "builds": builds,
    "generates": generates,
    "trains": trains,
}
