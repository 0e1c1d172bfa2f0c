"""torch.compile traces every generator and discriminator as one graph (a graph break would split it)."""

from __future__ import annotations

import pytest
import torch

from fusionblocks.ffgan import build_ffgan

from .helpers import CAPTIONS, batch_for, tiny_overrides


@pytest.mark.parametrize("preset", ["tiny64", "attngan", "dfgan_ffblock"])
def test_generator_and_discriminators_compile_without_graph_breaks(preset) -> None:
    torch._dynamo.reset()
    torch.manual_seed(0)
    gan = build_ffgan(preset, **tiny_overrides(preset))
    for module in (gan.generator, gan.text_encoder, *gan.discriminators):
        module.eval()  # no CA noise and BatchNorm running statistics: the two calls compute the same function
    with torch.no_grad():
        text = gan.text_encoder(CAPTIONS)
        z = torch.randn(len(CAPTIONS), gan.recipe.z_dim)
        for return_attention in (False, True):
            compiled = torch.compile(gan.generator, backend="eager", fullgraph=True)
            torch.manual_seed(1)  # the attngan preset samples the CA noise in eval too (official)
            got = compiled(z, text.sentence, text.words, text.mask, return_attention=return_attention)
            torch.manual_seed(1)
            want = gan.generator(z, text.sentence, text.words, text.mask, return_attention=return_attention)
            for a, b in zip(got.images + got.attention, want.images + want.attention):
                torch.testing.assert_close(a, b)
            assert len(got.attention) == len(want.attention)
        images = batch_for(gan.image_sizes).images
        for d, x in zip(gan.discriminators, images):
            got, want = torch.compile(d, backend="eager", fullgraph=True)(x, text.sentence), d(x, text.sentence)
            for name in ("cond", "uncond"):
                a, b = getattr(got, name, None), getattr(want, name, None)
                if b is not None:
                    torch.testing.assert_close(a, b)
