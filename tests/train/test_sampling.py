"""Sampling helper: seeded, mode-restoring, and able to skip the attention maps."""

from __future__ import annotations

import torch
from torch import nn

from fusionblocks.ffgan import build_ffgan
from fusionblocks.train.sampling import generate

CAPTIONS = ["a small red circle", "a large blue square above a small green triangle", "a green triangle"]


def _gan():
    torch.manual_seed(0)
    return build_ffgan("tiny64", **{"model.image_size": 32, "model.ngf": 8, "model.ndf": 8, "model.num_stages": 2})


def test_without_attention_maps_the_images_are_the_same() -> None:
    gan = _gan()
    gan.generator.train()
    with_maps = generate(gan.generator, gan.text_encoder, CAPTIONS, seed=3, batch_size=2)
    without = generate(gan.generator, gan.text_encoder, CAPTIONS, seed=3, batch_size=2, return_attention=False)
    assert without.attention == []
    longest = max(len(c.split()) for c in CAPTIONS)
    assert [tuple(a.shape) for a in with_maps.attention] == [(3, longest, 16, 16)]
    for a, b in zip(with_maps.images, without.images):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    assert gan.generator.training  # the mode is restored


def test_the_generator_is_told_whether_maps_are_wanted() -> None:
    gan = _gan()
    seen: list[bool] = []

    class Recording(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner, self.z_dim = inner, inner.z_dim

        def forward(self, z, sentence, words, mask, *, return_attention):
            seen.append(return_attention)
            return self.inner(z, sentence, words, mask, return_attention=return_attention)

    out = generate(Recording(gan.generator), gan.text_encoder, CAPTIONS[:2], seed=0, return_attention=False)
    assert out.images[-1].shape == (2, 3, 32, 32) and out.attention == [] and seen == [False]
    generate(Recording(gan.generator), gan.text_encoder, CAPTIONS[:2], seed=0)
    assert seen == [False, True]
