"""StageDiscriminator / DF-GAN models: shapes, head arithmetic, logits, DF blocks vs docs/ffgan.md "Discriminators" and
docs/ffgan.md "DF-GAN" formulas."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from fusionblocks.models import (
    DFDiscriminator,
    DFDownBlock,
    DFGenerator,
    DFUpBlock,
    StageDiscriminator,
    df_channel_plan,
    official_init,
)
from fusionblocks.models.spectral import has_spectral_norm


@given(size=st.sampled_from([8, 16, 32, 64]), ndf=st.integers(1, 4), batch=st.integers(1, 3))
def test_stage_discriminator_shapes(size, ndf, batch) -> None:
    d = StageDiscriminator(size, ndf=ndf, sentence_dim=5)
    x, s = torch.randn(batch, 3, size, size), torch.randn(batch, 5)
    out = d(x, s, s.roll(1, 0))
    expected_width = ndf * 2 ** (min(4, size.bit_length() - 3) - 1)
    assert out.features.shape == (batch, expected_width, 4, 4) and d.feature_channels == expected_width
    assert out.cond.shape == out.uncond.shape == out.wrong.shape == (batch,)
    assert d(x).cond is None and d(x).wrong is None


def test_official_trunk_layout_and_spectral_norm_everywhere_but_outlogits() -> None:
    d = StageDiscriminator(256, ndf=32, sentence_dim=256)
    assert len(d.encoder) == 8 and len(d.down) == 2 and len(d.reduce) == 2
    widths = [d.down[0][0].out_channels, d.down[1][0].out_channels, d.reduce[0][0].out_channels, d.reduce[1][0].out_channels]
    assert widths == [512, 1024, 512, 256]
    convs = [m for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
    plain = [m for m in convs if not has_spectral_norm(m)]
    assert plain == [d.cond_head.out, d.uncond_head.out]
    assert all(m.bias is not None for m in convs)


def test_heads_follow_the_spec_formula_and_return_logits() -> None:
    d = StageDiscriminator(16, ndf=4, sentence_dim=6).eval()
    with torch.no_grad():
        d.cond_head.out.bias.fill_(25.0)  # a saturated head: probabilities would be 1, logits stay large
    x, s, wrong = torch.randn(3, 3, 16, 16), torch.randn(3, 6), torch.randn(3, 6)
    with torch.no_grad():
        out = d(x, s, wrong)
        f = out.features
        joint = F.leaky_relu(F.conv2d(torch.cat([f, s[:, :, None, None].expand(-1, -1, 4, 4)], 1),
                                      d.cond_head.joint[0].weight, d.cond_head.joint[0].bias, padding=1), 0.2)
        cond = F.conv2d(joint, d.cond_head.out.weight, d.cond_head.out.bias, stride=4).flatten()
        uncond = F.conv2d(f, d.uncond_head.out.weight, d.uncond_head.out.bias, stride=4).flatten()
    torch.testing.assert_close(out.cond, cond)
    torch.testing.assert_close(out.uncond, uncond)
    torch.testing.assert_close(out.wrong, d.cond_logits(f, wrong))
    assert out.cond.min() > 10  # logits, not probabilities


def test_no_uncond_head_and_input_checks() -> None:
    d = StageDiscriminator(16, ndf=4, sentence_dim=6, uncond=False)
    out = d(torch.randn(2, 3, 16, 16), torch.randn(2, 6))
    assert out.uncond is None
    with pytest.raises(RuntimeError, match="uncond"):
        d.uncond_logits(out.features)
    with pytest.raises(ValueError, match="images"):
        d(torch.randn(2, 3, 32, 32))
    with pytest.raises(ValueError, match="sentence"):
        d(torch.randn(2, 3, 16, 16), torch.randn(3, 6))
    with pytest.raises(ValueError, match="image_size"):
        StageDiscriminator(24)


def test_official_init_orthogonal_bn_and_spectral_norm_sigma_one() -> None:
    d = StageDiscriminator(16, ndf=4, sentence_dim=6)
    official_init(d)
    conv = d.encoder[2]
    w = conv.parametrizations.weight.original.flatten(1)  # (8, 64): orthonormal rows
    torch.testing.assert_close(w @ w.t(), torch.eye(8), atol=1e-5, rtol=0)
    # all singular values of an orthogonal matrix are 1, so after re-syncing u, v the SN weight equals W̄
    conv.eval()
    torch.testing.assert_close(conv.weight, conv.parametrizations.weight.original, atol=1e-4, rtol=1e-4)
    bn = torch.nn.BatchNorm2d(512)
    official_init(bn)
    assert abs(bn.weight.mean().item() - 1.0) < 0.01 and 0.01 < bn.weight.std().item() < 0.03
    assert torch.equal(bn.bias, torch.zeros(512))
    lin = torch.nn.Linear(5, 7)
    official_init(lin)
    assert torch.equal(lin.bias, torch.zeros(7))


# -------------------------------------------------------------------------------------------------- DF-GAN


def test_df_channel_plan_matches_the_official_plan() -> None:
    assert df_channel_plan(32, 256) == [256, 256, 256, 256, 128, 64, 32]
    assert df_channel_plan(8, 32) == [64, 32, 16, 8]
    with pytest.raises(ValueError, match="image_size"):
        df_channel_plan(8, 48)


def test_df_up_block_formula() -> None:
    torch.manual_seed(0)
    block = DFUpBlock(6, 4, cond_dim=5)
    for p in block.parameters():  # leave DFAffine's identity init
        p.data.add_(0.1 * torch.randn_like(p))
    x, y = torch.randn(2, 6, 4, 4), torch.randn(2, 5)
    up = F.interpolate(x, scale_factor=2.0, mode="nearest")
    residual = block.c2(block.fuse2(block.c1(block.fuse1(up, y)), y))
    torch.testing.assert_close(block(x, y), block.shortcut(up) + residual)
    same = DFUpBlock(4, 4, cond_dim=5)
    assert same.shortcut is None
    assert sum(p.numel() for p in DFUpBlock(256, 256, 356).parameters()) == 2_437_632
    assert sum(p.numel() for p in DFUpBlock(256, 128, 356).parameters()) == 1_353_088


def test_df_down_block_starts_as_pooled_shortcut() -> None:
    block = DFDownBlock(4, 8)
    x = torch.randn(2, 4, 8, 8)
    torch.testing.assert_close(block(x), F.avg_pool2d(block.conv_s(x), 2))  # γ = 0 at init
    with torch.no_grad():
        block.gamma.fill_(0.5)
    torch.testing.assert_close(block(x), F.avg_pool2d(block.conv_s(x), 2) + 0.5 * block.conv_r(x))
    assert DFDownBlock(4, 4).conv_s is None and DFDownBlock(4, 4, keep_unused_shortcut=True).conv_s is not None


def test_df_generator_and_discriminator_shapes_and_ffblocks() -> None:
    g = DFGenerator(nf=4, z_dim=6, sentence_dim=5, image_size=32, word_dim=7, ffblock_resolutions=[16, 8])
    z, s = torch.randn(3, 6), torch.randn(3, 5)
    words, mask = torch.randn(3, 4, 7), torch.ones(3, 4, dtype=torch.bool)
    out = g(z, s, words, mask)
    assert [tuple(i.shape) for i in out.images] == [(3, 3, 32, 32)]
    assert [tuple(a.shape) for a in out.attention] == [(3, 4, 8, 8), (3, 4, 16, 16)]
    assert out.mu is None and out.logvar is None
    no_maps = g(z, s, words, mask, return_attention=False)  # training's call: the FF-Blocks' attention runs as SDPA
    assert no_maps.attention == []
    torch.testing.assert_close(no_maps.images[0], out.images[0], atol=1e-5, rtol=1e-5)
    plain = DFGenerator(nf=4, z_dim=6, sentence_dim=5, image_size=32)
    assert plain(z, s).attention == [] and plain.image_sizes == [32]
    with pytest.raises(ValueError, match="ffblock_resolutions"):
        DFGenerator(nf=4, image_size=32, word_dim=7, ffblock_resolutions=[64])
    with pytest.raises(ValueError, match="word_dim"):
        DFGenerator(nf=4, image_size=32, ffblock_resolutions=[16])
    d = DFDiscriminator(nf=4, sentence_dim=5, image_size=32)
    o = d(out.images[0], s, s.roll(1, 0))
    assert o.features.shape == (3, 32, 4, 4) and o.cond.shape == o.wrong.shape == (3,) and o.uncond is None
    torch.testing.assert_close(o.cond, d.cond_logits(o.features, s))
