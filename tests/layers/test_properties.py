"""Hypothesis properties of the fusion layers."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from fusionblocks.layers import GSR, DFAffine, FFBlock, WordContextAttention


@st.composite
def captions(draw: st.DrawFn) -> dict:
    """A small batch of image features, words and a mask with at least one real token per caption."""
    batch = draw(st.integers(1, 3))
    length = draw(st.integers(1, 6))
    lengths = draw(st.lists(st.integers(1, length), min_size=batch, max_size=batch))
    channels = draw(st.integers(1, 6))
    word_dim = draw(st.integers(1, 7))
    height, width = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**31 - 1))
    g = torch.Generator().manual_seed(seed)
    return {
        "x": torch.randn(batch, channels, height, width, generator=g),
        "words": torch.randn(batch, length, word_dim, generator=g),
        "other_words": torch.randn(batch, length, word_dim, generator=g) * 10,
        "mask": torch.arange(length)[None, :] < torch.tensor(lengths)[:, None],
        "channels": channels,
        "word_dim": word_dim,
    }


def _replace_padded(case: dict) -> torch.Tensor:
    mask = case["mask"][:, :, None]
    return torch.where(mask, case["words"], case["other_words"])


@given(captions(), st.booleans())
def test_masked_attention_ignores_padded_word_vectors(case: dict, return_attention: bool) -> None:
    m = WordContextAttention(case["channels"], case["word_dim"])
    out = m(case["x"], case["words"], case["mask"], return_attention=return_attention)
    changed = m(case["x"], _replace_padded(case), case["mask"], return_attention=return_attention)
    for a, b in zip(out if return_attention else (out,), changed if return_attention else (changed,)):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


@settings(max_examples=12)  # the attention part is covered by the test above with the full profile
@given(captions())
def test_masked_ffblock_ignores_padded_word_vectors(case: dict) -> None:
    m = FFBlock(case["channels"], case["word_dim"])
    torch.testing.assert_close(
        m(case["x"], case["words"], case["mask"]),
        m(case["x"], _replace_padded(case), case["mask"]),
        atol=1e-5,
        rtol=1e-5,
    )


@given(captions())
def test_attention_sums_to_one_over_real_words_and_is_zero_on_padding(case: dict) -> None:
    m = WordContextAttention(case["channels"], case["word_dim"])
    _, attn = m(case["x"], case["words"], case["mask"], return_attention=True)
    mask = case["mask"][:, :, None, None].expand_as(attn)
    assert torch.all(attn[~mask] == 0)
    real_sum = torch.where(mask, attn, torch.zeros_like(attn)).sum(dim=1)
    torch.testing.assert_close(real_sum, torch.ones_like(real_sum), atol=1e-5, rtol=1e-5)
    assert (attn >= 0).all()


@given(captions())
def test_unmasked_attention_spreads_mass_over_every_position(case: dict) -> None:
    m = WordContextAttention(case["channels"], case["word_dim"], mask_padding=False)
    _, attn = m(case["x"], case["words"], case["mask"], return_attention=True)
    torch.testing.assert_close(attn.sum(dim=1), torch.ones_like(attn[:, 0]), atol=1e-5, rtol=1e-5)


@given(
    st.integers(1, 8),
    st.integers(1, 9),
    st.one_of(st.none(), st.integers(1, 9)),
    st.integers(1, 3),
    st.integers(0, 2**31 - 1),
)
def test_df_affine_is_identity_at_init(channels: int, cond_dim: int, hidden: int | None, batch: int, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, channels, 3, 2, generator=g)
    cond = torch.randn(batch, cond_dim, generator=g) * 5
    m = DFAffine(channels, cond_dim, hidden_dim=hidden)
    assert torch.equal(m(x, cond), x)


@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 5), st.integers(1, 5), st.integers(0, 2**31 - 1))
def test_gsr_attention_is_a_spatial_distribution(channels: int, dim: int, h: int, w: int, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    m = GSR(channels, dim)
    x, s = torch.randn(2, channels, h, w, generator=g), torch.randn(2, dim, generator=g)
    out, attn = m(x, s, return_attention=True)
    torch.testing.assert_close(attn.sum(dim=(2, 3)), torch.ones(2, channels), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out.sum(dim=(2, 3)), m.proj(s), atol=1e-5, rtol=1e-5)
