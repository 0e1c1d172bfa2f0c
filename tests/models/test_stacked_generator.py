"""StackedGenerator: shapes, attention, masking, CA sampling, the stage-fusion protocol, input checks."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from fusionblocks.layers import FFBlock, GSR
from fusionblocks.models import AttnGANStageFusion, FFGANStageFusion, StackedGenerator, build_stage_fusion
from fusionblocks.registry import get_registry


def _inputs(batch=2, steps=5, z_dim=8, dim=12, seed=0, lengths=None):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor(lengths if lengths is not None else [steps] * batch)
    mask = torch.arange(steps)[None, :] < lengths[:, None]
    return (
        torch.randn(batch, z_dim, generator=g),
        torch.randn(batch, dim, generator=g),
        torch.randn(batch, steps, dim, generator=g) * mask[..., None],
        mask,
    )


def _small(**kwargs) -> StackedGenerator:
    defaults = dict(z_dim=8, sentence_dim=12, word_dim=12, ngf=4, cond_dim=3, base_size=8, num_stages=3, res_blocks=1)
    return StackedGenerator(**{**defaults, **kwargs})


@given(
    num_stages=st.integers(1, 3), base=st.sampled_from([8, 16]), steps=st.integers(1, 6), batch=st.integers(1, 3),
    fusion=st.sampled_from(["ffgan.stage_fusion", "attngan.stage_fusion"]),
)
def test_output_and_attention_shapes(num_stages, base, steps, batch, fusion) -> None:
    g = _small(num_stages=num_stages, base_size=base, stage_fusion=fusion).eval()
    z, s, w, m = _inputs(batch=batch, steps=steps)
    with torch.no_grad():
        out = g(z, s, w, m)
    sizes = [base * 2**i for i in range(num_stages)]
    assert g.image_sizes == sizes
    assert [tuple(i.shape) for i in out.images] == [(batch, 3, s_, s_) for s_ in sizes]
    assert [tuple(a.shape) for a in out.attention] == [(batch, steps, s_, s_) for s_ in sizes[:-1]]
    assert out.mu.shape == out.logvar.shape == (batch, 3)
    for img in out.images:
        assert img.abs().max() <= 1.0
    for attn in out.attention:  # softmax over the words at every pixel
        torch.testing.assert_close(attn.sum(1), torch.ones_like(attn.sum(1)), atol=1e-5, rtol=0)


def test_masked_attention_ignores_padding_and_the_official_mode_does_not() -> None:
    z, s, w, m = _inputs(steps=6, lengths=[6, 3])
    masked = _small(mask_padding=True).eval()
    unmasked = _small(mask_padding=False).eval()
    unmasked.load_state_dict(masked.state_dict())
    with torch.no_grad():
        a = masked(z, s, w, m)
        b = unmasked(z, s, w, m)
        # with masking, what is beyond a caption's length cannot matter
        w2 = w.clone()
        w2[1, 3:] = 5.0
        c = masked(z, s, w2, m)
    assert a.attention[0][1, 3:].abs().max() == 0
    # official FF-GAN: padded (zero) words take softmax mass (docs/ffgan.md "Padded-word masking")
    assert b.attention[0][1, 3:].sum() > 0
    torch.testing.assert_close(c.images[-1], a.images[-1])
    assert not torch.allclose(a.images[-1][1], b.images[-1][1])


def test_ca_noise_follows_mode_and_flag() -> None:
    z, s, w, m = _inputs()
    g = _small(num_stages=1).eval()
    with torch.no_grad():
        first, second = g(z, s, w, m).images[0], g(z, s, w, m).images[0]
        assert torch.equal(first, second)  # eval: c = μ
        sampled = g(z, s, w, m, sample_ca=True).images[0]
    assert not torch.equal(first, sampled)
    official = _small(num_stages=1, ca_sample_in_eval=True).eval()
    with torch.no_grad():
        assert not torch.equal(official(z, s, w, m).images[0], official(z, s, w, m).images[0])


def test_ffgan_stage_fusion_is_ffblock_concat_gsr() -> None:
    fusion = FFGANStageFusion(4, 6, 5, mask_padding=True, hidden_channels=7).eval()
    g = torch.Generator().manual_seed(1)
    h, words, sent = torch.randn(2, 4, 3, 3, generator=g), torch.randn(2, 3, 6, generator=g), torch.randn(2, 5, generator=g)
    mask = torch.tensor([[True, True, False], [True, True, True]])
    ff = FFBlock(4, 6, mask_padding=True, hidden_channels=7)
    gsr = GSR(4, 5)
    ff.load_state_dict(fusion.ffblock.state_dict())
    gsr.load_state_dict(fusion.gsr.state_dict())
    fused, attn = fusion(h, words, mask, sent)
    ref_ff, ref_attn = ff(h, words, mask, return_attention=True)
    torch.testing.assert_close(fused, torch.cat([ref_ff, gsr(h, sent)], 1))
    torch.testing.assert_close(attn, ref_attn)
    assert fusion.out_channels == 8


def test_ffgan_stage_fusion_ablation_switches() -> None:
    g = torch.Generator().manual_seed(2)
    h, words, sent = torch.randn(2, 4, 3, 3, generator=g), torch.randn(2, 3, 6, generator=g), torch.randn(2, 5, generator=g)
    mask = torch.tensor([[True, True, False], [True, True, True]])
    # no GSR: [h_f ; h], same width
    no_gsr = FFGANStageFusion(4, 6, 5, gsr=False).eval()
    fused, attn = no_gsr(h, words, mask, sent)
    ref, ref_attn = no_gsr.ffblock(h, words, mask, return_attention=True)
    torch.testing.assert_close(fused, torch.cat([ref, h], 1))
    torch.testing.assert_close(attn, ref_attn)
    assert no_gsr.out_channels == 8 and no_gsr.gsr is None
    # no word attention: the words do not matter, the sentence does; the modulation is the same everywhere
    no_words = FFGANStageFusion(4, 6, 5, word_attention=False).eval()
    out, attn = no_words(h, words, mask, sent)
    assert attn is None and out.shape == (2, 8, 3, 3)
    torch.testing.assert_close(no_words(h, torch.randn(2, 7, 6), None, sent)[0], out)
    assert not torch.allclose(no_words(h, words, mask, sent + 1)[0], out)
    context = no_words.ffblock.attention.proj(sent)[:, :, None, None].expand(2, 4, 3, 3)
    torch.testing.assert_close(out[:, :4], no_words.ffblock.affine(h, context))
    with pytest.raises(TypeError, match="gsr"):
        FFGANStageFusion(4, 6, 5, gsr=0)


def test_attngan_stage_fusion_is_concat_of_features_and_context() -> None:
    fusion = AttnGANStageFusion(4, 6, 5)
    h, words = torch.randn(2, 4, 3, 3), torch.randn(2, 3, 6)
    fused, attn = fusion(h, words, None, None)
    assert torch.equal(fused[:, :4], h)
    context = torch.einsum("bthw,btc->bchw", attn, fusion.attention.proj(words))
    torch.testing.assert_close(fused[:, 4:], context, atol=1e-5, rtol=1e-5)


class NoWidth(nn.Module):
    def __init__(self, channels, word_dim, sentence_dim, *, mask_padding):
        super().__init__()

    def forward(self, h, words, mask, sentence, *, return_attention):
        return h, None


class WrongShape(nn.Module):
    def __init__(self, channels, word_dim, sentence_dim, *, mask_padding):
        super().__init__()
        self.out_channels = 2 * channels
        self.mask_padding = mask_padding

    def forward(self, h, words, mask, sentence, *, return_attention):
        return h, None  # claims 2C channels, returns C


class OldProtocol(nn.Module):  # no mask_padding keyword: the protocol has one mandatory form, no sniffing
    def __init__(self, channels, word_dim, sentence_dim):
        super().__init__()
        self.out_channels = channels


def test_stage_fusion_protocol_violations_are_reported() -> None:
    registry = get_registry("layer")
    registry.register("test.no_width", NoWidth)
    registry.register("test.wrong_shape", WrongShape)
    registry.register("test.old_protocol", OldProtocol)
    try:
        with pytest.raises(TypeError, match="out_channels"):
            build_stage_fusion("test.no_width", 4, 6, 5)
        g = _small(stage_fusion="test.wrong_shape", num_stages=2)
        z, s, w, m = _inputs()
        with pytest.raises(ValueError, match="test.wrong_shape"):
            g(z, s, w, m)
        # mask_padding is always passed to the block
        assert build_stage_fusion("test.wrong_shape", 4, 6, 5, mask_padding=False).mask_padding is False
        with pytest.raises(TypeError, match="mask_padding"):
            build_stage_fusion("test.old_protocol", 4, 6, 5)
    finally:
        registry.unregister("test.no_width")
        registry.unregister("test.wrong_shape")
        registry.unregister("test.old_protocol")
    with pytest.raises(KeyError, match="ffgan.stage_fusion"):
        build_stage_fusion("ffgan.stage_fusio", 4, 6, 5)


@pytest.mark.parametrize(
    "change,name",
    [
        (lambda z, s, w, m: (z[:, :3], s, w, m), "z"),
        (lambda z, s, w, m: (z, s[:, :3], w, m), "sentence"),
        (lambda z, s, w, m: (z, s, w[..., :3], m), "words"),
        (lambda z, s, w, m: (z, s[:1], w, m), "sentence"),
        (lambda z, s, w, m: (z, s, w, m.float()), "mask"),
        (lambda z, s, w, m: (z, s, w, m[:, :2]), "mask"),
    ],
)
def test_bad_inputs_name_the_argument(change, name) -> None:
    g = _small(num_stages=2)
    with pytest.raises((ValueError, TypeError), match=name):
        g(*change(*_inputs()))


def test_constructor_checks() -> None:
    with pytest.raises(ValueError, match="out_size"):
        _small(base_size=12)
    with pytest.raises(ValueError, match="ngf"):
        _small(ngf=0)
    with pytest.raises(ValueError, match="res_blocks"):
        _small(res_blocks=-1)


@given(
    fusion=st.sampled_from(["ffgan.stage_fusion", "attngan.stage_fusion"]),
    mask_padding=st.booleans(),
    lengths=st.lists(st.integers(1, 5), min_size=2, max_size=3),  # batch ≥ 2: BatchNorm in training mode
)
def test_without_attention_maps_the_images_are_the_same(fusion, mask_padding, lengths) -> None:
    """Training asks for no maps (the word attention then runs as SDPA): same images, forward and backward."""
    torch.manual_seed(0)
    g = _small(stage_fusion=fusion, mask_padding=mask_padding).train()
    z, s, w, m = _inputs(batch=len(lengths), steps=5, lengths=lengths)
    with_maps = g(z, s, w, m, sample_ca=False)
    without = g(z, s, w, m, sample_ca=False, return_attention=False)
    assert without.attention == [] and len(with_maps.attention) == 2
    for a, b in zip(with_maps.images, without.images):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    grads = [torch.autograd.grad(sum(i.sum() for i in o.images), list(g.parameters())) for o in (with_maps, without)]
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def test_every_fusion_is_told_whether_a_map_is_wanted() -> None:
    calls = []

    class PlainFusion(nn.Module):  # the protocol: mask_padding at construction, return_attention at every call
        def __init__(self, channels, word_dim, sentence_dim, *, mask_padding):
            super().__init__()
            self.out_channels = channels

        def forward(self, h, words, mask, sentence, *, return_attention):
            calls.append(return_attention)
            attn = torch.zeros(h.shape[0], words.shape[1], *h.shape[-2:]) if return_attention else None
            return h, attn

    get_registry("layer").register("test.plain_fusion", PlainFusion)
    try:
        g = _small(stage_fusion="test.plain_fusion").eval()
        z, s, w, m = _inputs()
        assert len(g(z, s, w, m).attention) == 2
        assert g(z, s, w, m, return_attention=False).attention == []
        assert calls == [True, True, False, False]
    finally:
        get_registry("layer").unregister("test.plain_fusion")
