"""Each layer against a plain reference computation written here from the published formulas (fp32, atol 1e-5)."""

from __future__ import annotations

import pytest
import torch

from fusionblocks.layers import (
    GLU,
    GSR,
    ConditioningAugmentation,
    DFAffine,
    DFBlock,
    FFBlock,
    ImageHead,
    ResBlockGLU,
    SpatialAffine,
    UpBlock,
    WordContextAttention,
)

ATOL = 1e-5


def close(actual: torch.Tensor, expected: torch.Tensor) -> None:
    torch.testing.assert_close(actual, expected, atol=ATOL, rtol=1e-5)


def randomize_(module: torch.nn.Module) -> None:
    """Random (non-identity, non-default) weights and BatchNorm statistics."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn_like(p) * 0.3)
        for name, b in module.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(torch.randn_like(b) * 0.1)
            elif name.endswith("running_var"):
                b.copy_(torch.rand_like(b) + 0.5)


# ---------------------------------------------------------------- references from docs/ffgan.md "Shared blocks",
# docs/ffgan.md "DF-GAN"
def ref_word_attention(x, words, weight, mask=None):
    """docs/ffgan.md "Refinement stage": e' = W_e w; a_{q,t} = h_q·e'_t; β = softmax_t; c_q = Σ_t β_{q,t} e'_t (loop
    over the batch)."""
    b, c, h, w = x.shape
    t = words.shape[1]
    contexts, maps = [], []
    for i in range(b):
        e = words[i] @ weight.T  # (T, C)
        hq = x[i].reshape(c, h * w).T  # (Q, C)
        logits = hq @ e.T  # (Q, T)
        if mask is not None:
            logits = logits.masked_fill(~mask[i][None, :], float("-inf"))
        beta = torch.exp(logits - logits.max(dim=1, keepdim=True).values)
        beta = beta / beta.sum(dim=1, keepdim=True)
        contexts.append((beta @ e).T.reshape(c, h, w))
        maps.append(beta.T.reshape(t, h, w))
    return torch.stack(contexts), torch.stack(maps)


def conv3x3(x, weight, bias=None):
    return torch.nn.functional.conv2d(x, weight, bias, padding=1)


def ref_spatial_affine(x, cond, m: SpatialAffine):
    """docs/ffgan.md "Refinement stage": u = conv(cond); out = x·conv_γ(u) + conv_β(u), no nonlinearity."""
    u = conv3x3(cond, m.hidden.weight)
    return x * conv3x3(u, m.gamma.weight) + conv3x3(u, m.beta.weight)


def ref_gsr(x, sentence, weight):
    """docs/ffgan.md "Refinement stage": s' = W_s s; π_{k,q} = softmax_q(h_{k,q} s'_k); o = s'_k π_{k,q} (loop over
    batch, channel)."""
    b, c, h, w = x.shape
    s = sentence @ weight.T
    out = torch.empty_like(x)
    attn = torch.empty_like(x)
    for i in range(b):
        for k in range(c):
            g = x[i, k].flatten() * s[i, k]
            p = torch.exp(g - g.max())
            p = p / p.sum()
            attn[i, k] = p.reshape(h, w)
            out[i, k] = (s[i, k] * p).reshape(h, w)
    return out, attn


def ref_glu(x):
    n = x.shape[1] // 2
    return x[:, :n] * (1.0 / (1.0 + torch.exp(-x[:, n:])))


def ref_batch_norm(x, bn: torch.nn.BatchNorm2d, training: bool):
    if training:
        mean = x.mean(dim=(0, 2, 3))
        var = x.var(dim=(0, 2, 3), unbiased=False)
    else:
        mean, var = bn.running_mean, bn.running_var
    xn = (x - mean[None, :, None, None]) / torch.sqrt(var[None, :, None, None] + bn.eps)
    return xn * bn.weight[None, :, None, None] + bn.bias[None, :, None, None]


def ref_mlp(y, seq):
    hidden = torch.clamp(y @ seq[0].weight.T + seq[0].bias, min=0.0)
    return hidden @ seq[2].weight.T + seq[2].bias


def ref_df_affine(x, y, m: DFAffine):
    return ref_mlp(y, m.gamma)[:, :, None, None] * x + ref_mlp(y, m.beta)[:, :, None, None]


def leaky(v, slope=0.2):
    return torch.where(v > 0, v, slope * v)


def make_words(b=3, t=6, d=10, lengths=(6, 3, 1)):
    words = torch.randn(b, t, d)
    mask = torch.arange(t)[None, :] < torch.tensor(lengths)[:, None]
    return words, mask


# ---------------------------------------------------------------- word attention / FF-Block
@pytest.mark.parametrize("return_attention", [True, False])
def test_word_attention_masked_matches_reference(return_attention: bool) -> None:
    m = WordContextAttention(8, 10)
    x = torch.randn(3, 8, 5, 4)
    words, mask = make_words()
    ctx_ref, attn_ref = ref_word_attention(x, words, m.proj.weight, mask)
    out = m(x, words, mask, return_attention=return_attention)
    if return_attention:
        close(out[0], ctx_ref)
        close(out[1], attn_ref)
    else:
        close(out, ctx_ref)


@pytest.mark.parametrize("return_attention", [True, False])
def test_word_attention_without_mask_matches_reference(return_attention: bool) -> None:
    m = WordContextAttention(8, 10)
    x = torch.randn(2, 8, 3, 3)
    words = torch.randn(2, 4, 10)
    ctx_ref, attn_ref = ref_word_attention(x, words, m.proj.weight)
    out = m(x, words, return_attention=return_attention)
    close(out[0] if return_attention else out, ctx_ref)
    if return_attention:
        close(out[1], attn_ref)


def test_word_attention_unmasked_reproduces_official_behaviour() -> None:
    """mask_padding=False (official FF-GAN, docs/ffgan.md "Padded-word masking"): zero padded vectors get logit 0 and
    take softmax mass."""
    m = WordContextAttention(8, 10, mask_padding=False)
    x = torch.randn(3, 8, 4, 4)
    words, mask = make_words()
    words = words * mask[:, :, None]  # the official pad_packed_sequence pads with zeros
    ctx, attn = m(x, words, mask, return_attention=True)
    ctx_ref, attn_ref = ref_word_attention(x, words, m.proj.weight, mask=None)
    close(ctx, ctx_ref)
    close(attn, attn_ref)
    close(m(x, words, mask), ctx_ref)  # the SDPA path too
    # padded positions take part of the mass: exp(0) / Z at every pixel
    assert (attn[~mask] > 0).all()
    logits = torch.einsum("bchw,btc->bthw", x, words @ m.proj.weight.T)
    expected_pad_weight = 1.0 / torch.exp(logits).sum(dim=1)  # (B, H, W)
    close(attn[1, 3], expected_pad_weight[1])
    # ... so the result differs from the masked computation
    masked_ref, _ = ref_word_attention(x, words, m.proj.weight, mask)
    assert not torch.allclose(ctx, masked_ref, atol=1e-3)


@pytest.mark.parametrize("mask_padding", [True, False])
@pytest.mark.parametrize("with_mask", [True, False])
def test_word_attention_sdpa_path_equals_explicit_path(mask_padding: bool, with_mask: bool) -> None:
    m = WordContextAttention(8, 10, mask_padding=mask_padding)
    x = torch.randn(3, 8, 5, 5)
    words, mask = make_words()
    mask = mask if with_mask else None
    fast = m(x, words, mask)
    explicit, _ = m(x, words, mask, return_attention=True)
    close(fast, explicit)


def test_spatial_affine_matches_reference() -> None:
    m = SpatialAffine(6, cond_channels=4, hidden_channels=10)
    x, cond = torch.randn(2, 6, 5, 5), torch.randn(2, 4, 5, 5)
    close(m(x, cond), ref_spatial_affine(x, cond, m))
    assert m.hidden.bias is None and m.gamma.bias is None and m.beta.bias is None


def test_spatial_affine_defaults() -> None:
    m = SpatialAffine(5)
    assert m.hidden.weight.shape == (10, 5, 3, 3)
    assert m.gamma.weight.shape == m.beta.weight.shape == (5, 10, 3, 3)


@pytest.mark.parametrize("mask_padding", [True, False])
def test_ffblock_matches_reference(mask_padding: bool) -> None:
    m = FFBlock(8, 10, mask_padding=mask_padding)
    x = torch.randn(3, 8, 4, 4)
    words, mask = make_words()
    ctx_ref, attn_ref = ref_word_attention(x, words, m.attention.proj.weight, mask if mask_padding else None)
    out, attn = m(x, words, mask, return_attention=True)
    close(out, ref_spatial_affine(x, ctx_ref, m.affine))
    close(attn, attn_ref)
    close(m(x, words, mask), out)


# ---------------------------------------------------------------- GSR
def test_gsr_matches_reference() -> None:
    m = GSR(5, 7)
    x, s = torch.randn(2, 5, 4, 3), torch.randn(2, 7)
    out, attn = m(x, s, return_attention=True)
    out_ref, attn_ref = ref_gsr(x, s, m.proj.weight)
    close(out, out_ref)
    close(attn, attn_ref)
    close(m(x, s), out_ref)


def test_gsr_keeps_the_official_normalisation() -> None:
    """Σ_q o_{k,q} = s'_k and flat attention gives s'_k / (H·W) per pixel (docs/ffgan.md "Refinement stage")."""
    m = GSR(4, 6)
    x, s = torch.randn(3, 4, 8, 8), torch.randn(3, 6)
    s_proj = s @ m.proj.weight.T
    close(m(x, s).sum(dim=(2, 3)), s_proj)
    flat = m(torch.zeros(3, 4, 8, 8), s)
    close(flat, (s_proj / 64.0)[:, :, None, None].expand(3, 4, 8, 8))


# ---------------------------------------------------------------- DF-GAN
def test_df_affine_matches_reference() -> None:
    m = DFAffine(6, 9, hidden_dim=7)
    randomize_(m)
    x, y = torch.randn(2, 6, 4, 4), torch.randn(2, 9)
    close(m(x, y), ref_df_affine(x, y, m))
    assert m.gamma[0].weight.shape == (7, 9) and m.gamma[2].weight.shape == (6, 7)


def test_df_affine_init_is_identity_with_default_hidden() -> None:
    m = DFAffine(6, 9)
    assert m.gamma[0].out_features == 6  # DF-GAN: Linear(cond → C), Linear(C → C)
    assert torch.equal(m.gamma[2].weight, torch.zeros(6, 6)) and torch.equal(m.gamma[2].bias, torch.ones(6))
    assert torch.equal(m.beta[2].weight, torch.zeros(6, 6)) and torch.equal(m.beta[2].bias, torch.zeros(6))


def test_df_block_matches_reference() -> None:
    m = DFBlock(6, 9)
    randomize_(m)
    x, y = torch.randn(2, 6, 4, 4), torch.randn(2, 9)
    expected = leaky(ref_df_affine(leaky(ref_df_affine(x, y, m.affine0)), y, m.affine1))
    close(m(x, y), expected)


# ---------------------------------------------------------------- conditioning augmentation
def ref_ca(sentence, m: ConditioningAugmentation):
    out = ref_glu(sentence @ m.fc.weight.T + m.fc.bias)
    n = m.cond_dim
    return out[:, :n], out[:, n:]


def test_ca_matches_reference_and_samples_in_training() -> None:
    m = ConditioningAugmentation(12, 5).train()
    s = torch.randn(3, 12)
    mu_ref, logvar_ref = ref_ca(s, m)
    torch.manual_seed(7)
    c, mu, logvar = m(s)
    torch.manual_seed(7)
    eps = torch.randn(3, 5)
    close(mu, mu_ref)
    close(logvar, logvar_ref)
    close(c, mu_ref + torch.exp(0.5 * logvar_ref) * eps)
    assert m.fc.weight.shape == (20, 12) and m.fc.bias is not None


def test_ca_eval_returns_mu_unless_asked_to_sample() -> None:
    s = torch.randn(3, 12)
    m = ConditioningAugmentation(12, 5).eval()
    c, mu, _ = m(s)
    assert torch.equal(c, mu)
    c, mu, _ = m(s, sample=True)
    assert not torch.allclose(c, mu)
    m.train()
    c, mu, _ = m(s, sample=False)
    assert torch.equal(c, mu)
    official = ConditioningAugmentation(12, 5, sample_in_eval=True).eval()
    c, mu, logvar = official(s)
    assert not torch.allclose(c, mu)
    torch.manual_seed(3)
    c, mu, logvar = official(s)
    torch.manual_seed(3)
    close(c, mu + torch.exp(0.5 * logvar) * torch.randn(3, 5))


# ---------------------------------------------------------------- stage building blocks (docs/ffgan.md "Shared blocks")
def test_glu_matches_reference() -> None:
    x = torch.randn(2, 6, 3, 3)
    close(GLU()(x), ref_glu(x))
    v = torch.randn(4, 10)
    close(GLU()(v), ref_glu(v))


def ref_upsample_nearest2(x):
    return x.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)


@pytest.mark.parametrize("training", [True, False])
def test_up_block_matches_reference(training: bool) -> None:
    m = UpBlock(6, 4)
    randomize_(m)
    m.train(training)
    x = torch.randn(3, 6, 4, 5)
    expected = ref_glu(ref_batch_norm(conv3x3(ref_upsample_nearest2(x), m.conv.weight), m.norm, training))
    close(m(x), expected)
    assert m.conv.bias is None


@pytest.mark.parametrize("training", [True, False])
def test_res_block_matches_reference(training: bool) -> None:
    m = ResBlockGLU(6)
    randomize_(m)
    m.train(training)
    x = torch.randn(3, 6, 5, 5)
    h = ref_glu(ref_batch_norm(conv3x3(x, m.conv1.weight), m.norm1, training))
    expected = x + ref_batch_norm(conv3x3(h, m.conv2.weight), m.norm2, training)
    close(m(x), expected)


def test_image_head_matches_reference() -> None:
    m = ImageHead(6)
    randomize_(m)
    x = torch.randn(2, 6, 5, 5) * 3
    out = m(x)
    close(out, torch.tanh(conv3x3(x, m.conv.weight)))
    assert out.shape == (2, 3, 5, 5) and out.abs().max() <= 1.0
    assert ImageHead(6, out_channels=1)(x).shape == (2, 1, 5, 5)
