"""The benchmark's reference (official formulation) and fusionblocks compute the same numbers in fp32.

Same weights are copied across (``benchmarks/mapping.py``); sizes are tiny so the whole file runs in seconds.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks import mapping  # noqa: E402
from benchmarks.reference import (  # noqa: E402
    ACM,
    D_NET64,
    D_NET128,
    D_NET256,
    G_NET,
    RNN_ENCODER,
    WordAttention,
    discriminator_loss,
    sent_loss,
    words_loss,
)
from benchmarks.reference.trainer import ReferenceConfig, ReferenceFFGAN  # noqa: E402

NZ, NEF, NCF, NGF, NDF, VOCAB = 8, 16, 8, 4, 4, 50


def _captions(batch: int, length: int, gen: torch.Generator, min_len: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    lens = torch.randint(min_len, length + 1, (batch,), generator=gen).sort(descending=True).values
    lens[0] = length
    tokens = torch.randint(1, VOCAB, (batch, length), generator=gen)
    tokens[torch.arange(length)[None, :] >= lens[:, None]] = 0
    return tokens, lens


def _lib_generator() -> nn.Module:
    from fusionblocks.models import StackedGenerator

    return StackedGenerator(
        z_dim=NZ, sentence_dim=NEF, word_dim=NEF, ngf=NGF, cond_dim=NCF, mask_padding=False, ca_sample_in_eval=True
    )


@pytest.mark.parametrize("train_mode", [True, False])
def test_generator_forward_matches_reference(train_mode: bool) -> None:
    ref = G_NET(NGF, NEF, NCF, NZ)
    lib = _lib_generator()
    mapping.load_generator_from_reference(lib, ref)
    if not train_mode:  # give BN non-trivial running statistics first
        with torch.no_grad():
            ref(torch.randn(3, NZ), torch.randn(3, NEF), torch.randn(3, NEF, 5))
        mapping.load_generator_from_reference(lib, ref)
    ref.train(train_mode)
    lib.train(train_mode)
    g = torch.Generator().manual_seed(3)
    batch, length = 3, 6
    z, s = torch.randn(batch, NZ, generator=g), torch.randn(batch, NEF, generator=g)
    _, lens = _captions(batch, length, g)
    mask = torch.arange(length)[None, :] < lens[:, None]
    words = torch.randn(batch, length, NEF, generator=g) * mask[:, :, None]  # zeros at padding, as officially
    torch.manual_seed(11)
    imgs, atts, mu, logvar = ref(z, s, words.transpose(1, 2), ~mask, lens)
    torch.manual_seed(11)
    out = lib(z, s, words, mask)
    assert len(out.images) == 3 and len(out.attention) == 2
    for a, b in zip(imgs, out.images):
        assert a.shape == b.shape
        torch.testing.assert_close(b, a, atol=1e-4, rtol=0)
    for a, b in zip(atts, out.attention):
        torch.testing.assert_close(b, a, atol=1e-5, rtol=0)
    torch.testing.assert_close(out.mu, mu, atol=1e-6, rtol=0)
    torch.testing.assert_close(out.logvar, logvar, atol=1e-6, rtol=0)


def test_ffblock_matches_reference_attention_and_acm() -> None:
    from fusionblocks.layers import FFBlock

    att, acm = WordAttention(6, NEF), ACM(6)
    lib = FFBlock(6, NEF, mask_padding=False)
    with torch.no_grad():
        lib.attention.proj.weight.copy_(att.conv_context.weight.flatten(1))
        lib.affine.hidden.weight.copy_(acm.conv.weight)
        lib.affine.gamma.weight.copy_(acm.conv_weight.weight)
        lib.affine.beta.weight.copy_(acm.conv_bias.weight)
    x, w = torch.randn(2, 6, 7, 5), torch.randn(2, 4, NEF)
    c, a = att(x, w.transpose(1, 2))
    expected = acm(x, c)
    out, attn = lib(x, w, return_attention=True)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(attn, a, atol=1e-6, rtol=0)
    torch.testing.assert_close(lib(x, w), expected, atol=1e-5, rtol=1e-5)  # SDPA path


@pytest.mark.parametrize("disc,size", [(D_NET64, 64), (D_NET128, 128), (D_NET256, 256)])
def test_discriminator_and_d_loss_match_reference(disc: type, size: int) -> None:
    from fusionblocks.losses import bce_stage_d, mismatch_pairs
    from fusionblocks.models import StageDiscriminator

    ref = disc(NDF, NEF)
    assert mapping.converge_spectral_norm(ref) > 0
    lib = StageDiscriminator(size, NDF, NEF)
    mapping.load_discriminator_from_reference(lib, ref)
    g = torch.Generator().manual_seed(size)
    batch = 3
    real, fake = torch.randn(batch, 3, size, size, generator=g), torch.randn(batch, 3, size, size, generator=g)
    s = torch.randn(batch, NEF, generator=g)
    ones, zeros = torch.ones(batch), torch.zeros(batch)
    expected = discriminator_loss(ref, real, fake, s, ones, zeros)
    r = lib(real, s, s.roll(-1, dims=0))
    f = lib(fake, s)
    image_index, _ = mismatch_pairs(batch, None, False, device=real.device)
    got = bce_stage_d(r.cond, f.cond, r.wrong[image_index], r.uncond, f.uncond).loss
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    feats = ref(real)
    torch.testing.assert_close(r.features, feats, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(torch.sigmoid(r.cond), ref.COND_DNET(feats, s), atol=1e-5, rtol=0)


def test_word_loss_matches_reference_loop() -> None:
    from fusionblocks.losses import damsm_sentence_loss, damsm_word_loss

    g = torch.Generator().manual_seed(5)
    batch, length = 7, 6
    regions = torch.randn(batch, NEF, 5, 5, generator=g, dtype=torch.float64).float().requires_grad_(True)
    _, lens = _captions(batch, length, g, min_len=1)
    mask = torch.arange(length)[None, :] < lens[:, None]
    words = (torch.randn(batch, length, NEF, generator=g) * mask[:, :, None]).requires_grad_(True)
    class_ids = np.array([0, 1, 0, 2, 3, 1, 4])
    labels = torch.arange(batch)
    l0, l1, _ = words_loss(regions, words.transpose(1, 2), labels, lens, class_ids, batch)
    out = damsm_word_loss(regions, words, mask, class_ids=torch.as_tensor(class_ids))
    torch.testing.assert_close(out.loss0, l0, atol=1e-5, rtol=0)
    torch.testing.assert_close(out.loss1, l1, atol=1e-5, rtol=0)
    g_ref = torch.autograd.grad(l0 + l1, (regions, words))
    g_lib = torch.autograd.grad(out.loss0 + out.loss1, (regions, words))
    for a, b in zip(g_ref, g_lib):
        torch.testing.assert_close(b, a, atol=1e-5, rtol=1e-4)
    codes, sent = torch.randn(batch, NEF, generator=g), torch.randn(batch, NEF, generator=g)
    s0, s1 = sent_loss(codes, sent, labels, class_ids, batch)
    s = damsm_sentence_loss(codes, sent, class_ids=torch.as_tensor(class_ids))
    torch.testing.assert_close(s.loss0, s0, atol=1e-5, rtol=0)
    torch.testing.assert_close(s.loss1, s1, atol=1e-5, rtol=0)


def test_text_encoder_matches_reference() -> None:
    from fusionblocks.text import DAMSMTextEncoder

    ref = RNN_ENCODER(VOCAB, nhidden=NEF).eval()
    lib = DAMSMTextEncoder(VOCAB, hidden_dim=NEF, max_words=None).eval()
    mapping.load_text_encoder_from_reference(lib, ref)
    tokens, lens = _captions(5, 7, torch.Generator().manual_seed(1))
    words, sent = ref(tokens, lens)
    out = lib(tokens, lens)
    torch.testing.assert_close(out.sentence, sent, atol=1e-6, rtol=0)
    torch.testing.assert_close(out.words, words.transpose(1, 2), atol=1e-6, rtol=0)


class _TinyImageEncoder(nn.Module):
    """A frozen stand-in for the DAMSM Inception encoder, shared by both sides: (regions (B,E,4,4), code (B,E))."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, NEF, 8, stride=64)
        self.fc = nn.Linear(NEF, NEF)
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        regions = self.conv(x)
        return regions, self.fc(regions.mean(dim=(2, 3)))


def test_training_iteration_losses_match_reference() -> None:
    """One full iteration (3 D steps + G step with DAMSM and KL): every loss term agrees with the reference."""
    from fusionblocks.models import StageDiscriminator
    from fusionblocks.text import DAMSMTextEncoder
    from fusionblocks.train.recipes import FFGANRecipe, TrainBatch, TrainModules

    image_encoder = _TinyImageEncoder()
    ref = ReferenceFFGAN(ReferenceConfig(ngf=NGF, ndf=NDF, nef=NEF, ncf=NCF, nz=NZ, n_words=VOCAB), image_encoder)
    for d in ref.netsD:
        mapping.converge_spectral_norm(d)
    gen = _lib_generator()
    mapping.load_generator_from_reference(gen, ref.netG)
    discs = [StageDiscriminator(s, NDF, NEF) for s in (64, 128, 256)]
    for lib_d, ref_d in zip(discs, ref.netsD):
        mapping.load_discriminator_from_reference(lib_d, ref_d)
    text = DAMSMTextEncoder(VOCAB, hidden_dim=NEF, max_words=None).eval().requires_grad_(False)
    mapping.load_text_encoder_from_reference(text, ref.text_encoder)
    recipe = FFGANRecipe(z_dim=NZ)
    opts = recipe.build_optimizers(gen, discs)
    modules = TrainModules(generator=gen, discriminators=discs, text_encoder=text, image_encoder=image_encoder)

    g = torch.Generator().manual_seed(7)
    batch = 4
    imgs = [torch.rand(batch, 3, s, s, generator=g) * 2 - 1 for s in (64, 128, 256)]
    tokens, lens = _captions(batch, 6, g)
    class_ids = np.array([3, 1, 3, 2])
    torch.manual_seed(21)
    expected = ref.step(imgs, tokens, lens, class_ids)
    torch.manual_seed(21)
    got = recipe.iteration(
        modules, TrainBatch(images=imgs, captions=None, tokens=tokens, lengths=lens,
                            class_ids=torch.as_tensor(class_ids)), opts,
    )  # fmt: skip
    for key in ("d0", "d1", "d2", "g0", "g1", "g2", "damsm_w", "damsm_s", "kl"):
        torch.testing.assert_close(got[key], expected[key], atol=2e-4, rtol=2e-4, msg=f"loss term {key}")
