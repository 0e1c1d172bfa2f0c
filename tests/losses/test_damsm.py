"""DAMSM word and sentence losses against naive per-caption loops written here from docs/ffgan.md "DAMSM losses"."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from fusionblocks import create
from fusionblocks.losses import DAMSMLoss, damsm_sentence_loss, damsm_word_loss


# ----------------------------------------------------------------------------------------------------------------
# References: the official per-caption formulation, one (caption, image) pair at a time.
# ----------------------------------------------------------------------------------------------------------------
def _cos(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    return (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1)).clamp(min=eps)


def reference_word_loss(regions, words, lengths, class_ids=None, g1=4.0, g2=5.0, g3=10.0, form="official"):
    """Returns (loss0, loss1, scores, attention) from a double loop over captions i and images j."""
    batch, _, h, w = regions.shape
    feats = regions.flatten(2)  # (B, E, R)
    scores = torch.empty(batch, batch, dtype=regions.dtype)
    attention = torch.zeros(batch, words.shape[1], h * w, dtype=regions.dtype)
    for i in range(batch):
        e = words[i, : int(lengths[i])]  # (T_i, E): only the caption's true words
        for j in range(batch):
            v = feats[j]  # (E, R)
            s = e @ v  # (T_i, R)
            s_bar = torch.softmax(s, dim=0)  # over words
            alpha = torch.softmax(g1 * s_bar, dim=1)  # over regions
            c = alpha @ v.t()  # (T_i, E)
            total = torch.exp(g2 * _cos(c, e)).sum()
            r = torch.log(total) if form == "official" else torch.log(total ** (1.0 / g2))
            scores[j, i] = g3 * r
            if i == j:
                attention[i, : int(lengths[i])] = alpha
    if class_ids is not None:
        for j in range(batch):
            for i in range(batch):
                if j != i and int(class_ids[j]) == int(class_ids[i]):
                    scores[j, i] = float("-inf")
    labels = torch.arange(batch)
    return (
        F.cross_entropy(scores, labels),
        F.cross_entropy(scores.t(), labels),
        scores,
        attention.reshape(batch, -1, h, w),
    )


def reference_sentence_loss(codes, sentence, class_ids=None, g3=10.0):
    batch = codes.shape[0]
    scores = torch.empty(batch, batch, dtype=codes.dtype)
    for j in range(batch):
        for i in range(batch):
            scores[j, i] = g3 * _cos(codes[j], sentence[i])
            if class_ids is not None and j != i and int(class_ids[j]) == int(class_ids[i]):
                scores[j, i] = float("-inf")
    labels = torch.arange(batch)
    return F.cross_entropy(scores, labels), F.cross_entropy(scores.t(), labels), scores


def _mask(lengths, length):
    return torch.arange(length)[None, :] < torch.as_tensor(lengths)[:, None]


def _inputs(batch, length, lengths, channels=6, hw=(3, 3), seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    regions = torch.randn(batch, channels, *hw, generator=g, dtype=dtype)
    words = torch.randn(batch, length, channels, generator=g, dtype=dtype)
    return regions, words, _mask(lengths, length)


# ----------------------------------------------------------------------------------------------------------------
# Word loss
# ----------------------------------------------------------------------------------------------------------------
@given(
    data=st.data(),
    batch=st.integers(2, 6),
    length=st.integers(1, 6),
    form=st.sampled_from(["official", "paper"]),
    with_classes=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_word_loss_matches_per_caption_loop(data, batch, length, form, with_classes, seed):
    lengths = data.draw(st.lists(st.integers(1, length), min_size=batch, max_size=batch))
    class_ids = (
        torch.tensor(data.draw(st.lists(st.integers(0, 2), min_size=batch, max_size=batch))) if with_classes else None
    )
    gammas = data.draw(st.tuples(st.sampled_from([1.0, 4.0, 5.0]), st.sampled_from([2.0, 5.0]), st.sampled_from([1.0, 10.0])))
    regions, words, mask = _inputs(batch, length, lengths, seed=seed)
    out = damsm_word_loss(regions, words, mask, class_ids, *gammas, form=form)
    ref0, ref1, ref_scores, ref_attn = reference_word_loss(regions, words, lengths, class_ids, *gammas, form=form)
    torch.testing.assert_close(out.scores, ref_scores, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out.loss0, ref0, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out.loss1, ref1, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out.attention, ref_attn, rtol=1e-5, atol=1e-6)
    assert out.attention.shape == (batch, length, 3, 3)


@pytest.mark.parametrize("form", ["official", "paper"])
def test_word_loss_gradients_match_reference(form):
    lengths = [4, 2, 1, 3]
    regions, words, mask = _inputs(4, 4, lengths, seed=3)
    class_ids = torch.tensor([0, 1, 0, 2])
    r1, w1 = regions.clone().requires_grad_(), words.clone().requires_grad_()
    r2, w2 = regions.clone().requires_grad_(), words.clone().requires_grad_()
    out = damsm_word_loss(r1, w1, mask, class_ids, form=form)
    (out.loss0 + 2 * out.loss1).backward()
    ref0, ref1, _, _ = reference_word_loss(r2, w2, lengths, class_ids, form=form)
    (ref0 + 2 * ref1).backward()
    torch.testing.assert_close(r1.grad, r2.grad, rtol=1e-6, atol=1e-8)
    torch.testing.assert_close(w1.grad, w2.grad, rtol=1e-6, atol=1e-8)
    assert torch.all(w1.grad[~mask] == 0)


def test_word_loss_float32_matches_float64_reference():
    lengths = [5, 3, 1]
    regions, words, mask = _inputs(3, 5, lengths, channels=16, hw=(4, 4), seed=5)
    out = damsm_word_loss(regions.float(), words.float(), mask)
    ref0, ref1, ref_scores, _ = reference_word_loss(regions, words, lengths)
    torch.testing.assert_close(out.scores.double(), ref_scores, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(out.loss0.double(), ref0, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("form", ["official", "paper"])
def test_word_loss_ignores_padded_content(form):
    lengths = [3, 1, 5, 2]
    regions, words, mask = _inputs(4, 6, lengths, seed=7)
    garbage = words.clone()
    garbage[~mask] = torch.randn(int((~mask).sum()), words.shape[2], dtype=words.dtype) * 100.0
    garbage[0, -1] = float("nan")
    garbage[1, -1] = float("inf")
    w_a, w_b = words.clone().requires_grad_(), garbage.clone().requires_grad_()
    a = damsm_word_loss(regions, w_a, mask, form=form)
    b = damsm_word_loss(regions, w_b, mask, form=form)
    torch.testing.assert_close(a.scores, b.scores, rtol=0, atol=0)
    torch.testing.assert_close(a.attention, b.attention, rtol=0, atol=0)
    (a.loss0 + a.loss1).backward()
    (b.loss0 + b.loss1).backward()
    torch.testing.assert_close(w_a.grad, w_b.grad, rtol=0, atol=0)
    assert torch.isfinite(w_b.grad).all()


def test_word_loss_extra_padding_columns_change_nothing():
    lengths = [2, 4, 3]
    regions, words, mask = _inputs(3, 4, lengths, seed=9)
    longer = torch.cat([words, torch.randn(3, 5, words.shape[2], dtype=words.dtype)], dim=1)
    a = damsm_word_loss(regions, words, mask)
    b = damsm_word_loss(regions, longer, _mask(lengths, 9))
    torch.testing.assert_close(a.scores, b.scores)
    torch.testing.assert_close(b.attention[:, :4], a.attention)
    assert torch.all(b.attention[:, 4:] == 0)


def test_word_attention_is_a_distribution_over_regions():
    lengths = [3, 1, 2]
    regions, words, mask = _inputs(3, 3, lengths, seed=11)
    attn = damsm_word_loss(regions, words, mask).attention.flatten(2)
    torch.testing.assert_close(attn.sum(-1), mask.to(attn.dtype))
    assert torch.all(attn >= 0)


def test_word_loss_class_masking_only_hides_same_class_off_diagonal():
    regions, words, mask = _inputs(4, 3, [3, 3, 2, 1], seed=13)
    out = damsm_word_loss(regions, words, mask, class_ids=[5, 5, 7, 5])
    expected = torch.tensor(
        [[0, 1, 0, 1], [1, 0, 0, 1], [0, 0, 0, 0], [1, 1, 0, 0]], dtype=torch.bool
    )
    assert torch.equal(torch.isinf(out.scores), expected)
    plain = damsm_word_loss(regions, words, mask)
    torch.testing.assert_close(out.scores[~expected], plain.scores[~expected])


def test_word_loss_paper_form_is_official_over_gamma2():
    regions, words, mask = _inputs(3, 4, [4, 2, 3], seed=17)
    official = damsm_word_loss(regions, words, mask, gamma2=5.0, gamma3=10.0, form="official")
    paper = damsm_word_loss(regions, words, mask, gamma2=5.0, gamma3=10.0, form="paper")
    torch.testing.assert_close(paper.scores, official.scores / 5.0)


def test_word_loss_registered_module_matches_function():
    regions, words, mask = _inputs(3, 4, [4, 2, 3], seed=19)
    module = create("loss", "loss.damsm_words", gamma1=5.0, gamma2=4.0, gamma3=8.0, form="paper")
    out = module(regions, words, mask, class_ids=torch.tensor([0, 1, 0]))
    ref = damsm_word_loss(regions, words, mask, [0, 1, 0], gamma1=5.0, gamma2=4.0, gamma3=8.0, form="paper")
    assert isinstance(out, DAMSMLoss)
    torch.testing.assert_close(out.loss, ref.loss0 + ref.loss1)


def test_word_loss_is_invariant_to_batch_permutation():
    lengths = [3, 1, 4, 2]
    regions, words, mask = _inputs(4, 4, lengths, seed=23)
    perm = torch.tensor([2, 0, 3, 1])
    a = damsm_word_loss(regions, words, mask)
    b = damsm_word_loss(regions[perm], words[perm], mask[perm])
    torch.testing.assert_close(b.scores, a.scores[perm][:, perm])
    torch.testing.assert_close(b.loss0, a.loss0)
    torch.testing.assert_close(b.loss1, a.loss1)


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        (dict(mask=torch.ones(3, 4, dtype=torch.long)), TypeError, "mask"),
        (dict(mask=torch.ones(3, 5, dtype=torch.bool)), ValueError, "mask"),
        (dict(mask=torch.tensor([[1, 1, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0]], dtype=torch.bool)), ValueError, "mask"),
        (dict(words=torch.randn(3, 4, 5, dtype=torch.float64)), ValueError, "words"),
        (dict(words=torch.randn(2, 4, 6, dtype=torch.float64)), ValueError, "words"),
        (dict(regions=torch.randn(3, 6, 9, dtype=torch.float64)), ValueError, "regions"),
        (dict(class_ids=torch.tensor([0, 1])), ValueError, "class_ids"),
        (dict(class_ids=torch.tensor([0.0, 1.0, 2.0])), TypeError, "class_ids"),
        (dict(form="attngan"), ValueError, "form"),
        (dict(gamma1=0.0), ValueError, "gamma1"),
    ],
)
def test_word_loss_bad_input_names_the_argument(kwargs, error, name):
    regions, words, mask = _inputs(3, 4, [4, 2, 1], seed=29)
    args = dict(regions=regions, words=words, mask=mask) | kwargs
    with pytest.raises(error, match=name):
        damsm_word_loss(**args)


# ----------------------------------------------------------------------------------------------------------------
# Sentence loss
# ----------------------------------------------------------------------------------------------------------------
@given(
    batch=st.integers(2, 6),
    class_list=st.one_of(st.none(), st.lists(st.integers(0, 2), min_size=6, max_size=6)),
    gamma3=st.sampled_from([1.0, 10.0]),
    seed=st.integers(0, 2**16),
)
def test_sentence_loss_matches_loop(batch, class_list, gamma3, seed):
    g = torch.Generator().manual_seed(seed)
    codes = torch.randn(batch, 5, generator=g, dtype=torch.float64)
    sentence = torch.randn(batch, 5, generator=g, dtype=torch.float64)
    class_ids = None if class_list is None else torch.tensor(class_list[:batch])
    out = damsm_sentence_loss(codes, sentence, class_ids, gamma3=gamma3)
    ref0, ref1, ref_scores = reference_sentence_loss(codes, sentence, class_ids, g3=gamma3)
    torch.testing.assert_close(out.scores, ref_scores, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out.loss0, ref0, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out.loss1, ref1, rtol=1e-5, atol=1e-5)
    assert out.attention is None


def test_sentence_loss_known_answer_orthonormal_codes():
    batch = 4
    codes = torch.eye(batch, dtype=torch.float64) * 3.0  # scaled: the cosine ignores the norm
    out = damsm_sentence_loss(codes, torch.eye(batch, dtype=torch.float64))
    expected = -math.log(math.exp(10.0) / (math.exp(10.0) + (batch - 1)))
    assert out.loss0.item() == pytest.approx(expected, rel=1e-12)
    assert out.loss1.item() == pytest.approx(expected, rel=1e-12)
    # with every sample in one class, nothing competes: the loss is exactly zero
    masked = damsm_sentence_loss(codes, torch.eye(batch, dtype=torch.float64), class_ids=[1, 1, 1, 1])
    assert masked.loss0.item() == 0.0 and masked.loss1.item() == 0.0


def test_sentence_loss_zero_vector_stays_finite():
    codes = torch.zeros(3, 4, requires_grad=True)
    sentence = torch.randn(3, 4)
    out = damsm_sentence_loss(codes, sentence)
    (out.loss0 + out.loss1).backward()
    assert torch.isfinite(out.scores).all() and torch.isfinite(codes.grad).all()


def test_sentence_loss_rows_are_images():
    codes = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    sentence = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    out = damsm_sentence_loss(codes, sentence, gamma3=1.0)
    torch.testing.assert_close(out.scores, torch.tensor([[1.0, 1.0], [0.0, 0.0]]))


def test_sentence_loss_module_and_errors():
    codes, sentence = torch.randn(3, 4), torch.randn(3, 4)
    module = create("loss", "loss.damsm_sentence", gamma3=5.0)
    torch.testing.assert_close(module(codes, sentence).loss, damsm_sentence_loss(codes, sentence, gamma3=5.0).loss)
    with pytest.raises(ValueError, match="sentence"):
        damsm_sentence_loss(codes, torch.randn(3, 5))
    with pytest.raises(ValueError, match="sentence"):
        damsm_sentence_loss(codes, torch.randn(2, 4))
    with pytest.raises(ValueError, match="codes"):
        damsm_sentence_loss(torch.randn(3, 4, 1), sentence)
    with pytest.raises(ValueError, match="gamma3"):
        damsm_sentence_loss(codes, sentence, gamma3=-1.0)


def test_word_loss_under_bf16_autocast_stays_close_to_float32():
    g = torch.Generator().manual_seed(31)
    regions = torch.randn(4, 32, 5, 5, generator=g, requires_grad=True)
    words = torch.randn(4, 6, 32, generator=g)
    mask = _mask([6, 3, 2, 1], 6)
    full = damsm_word_loss(regions, words, mask)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = damsm_word_loss(regions, words, mask)
    low.loss.backward()
    assert torch.isfinite(regions.grad).all()
    torch.testing.assert_close(low.loss.float(), full.loss, rtol=2e-2, atol=2e-2)
