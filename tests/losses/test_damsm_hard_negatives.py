"""DAMSM losses with hard negatives: a per-pair reference written from the loss definition, and the switch-off
guarantee (no negatives -> exactly the official loss)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from fusionblocks.losses import damsm_sentence_loss, damsm_word_loss

from .test_damsm import _cos, _inputs, _mask, reference_sentence_loss, reference_word_loss


def reference_pair_score(region: torch.Tensor, words: torch.Tensor, g1=4.0, g2=5.0, form="official"):
    """R(image, caption) for one pair: region (E, h, w), words (T_i, E) real words only."""
    v = region.flatten(1)  # (E, R)
    s_bar = torch.softmax(words @ v, dim=0)
    alpha = torch.softmax(g1 * s_bar, dim=1)
    c = alpha @ v.t()
    total = torch.exp(g2 * _cos(c, words)).sum()
    return torch.log(total) if form == "official" else torch.log(total ** (1.0 / g2))


@settings(max_examples=25, deadline=None)
@given(
    batch=st.integers(1, 4),
    count=st.integers(1, 3),
    length=st.integers(1, 5),
    seed=st.integers(0, 10_000),
    form=st.sampled_from(["official", "paper"]),
    with_classes=st.booleans(),
)
def test_word_loss_with_negatives_matches_reference(batch, count, length, seed, form, with_classes):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, length + 1, (batch,), generator=g)
    regions, words, mask = _inputs(batch, length, lengths, seed=seed)
    neg_lengths = torch.randint(1, length + 1, (batch, count), generator=g)
    neg_words = torch.randn(batch, count, length, words.shape[-1], generator=g, dtype=torch.float64)
    neg_mask = torch.arange(length)[None, None, :] < neg_lengths[..., None]
    neg_words = neg_words.masked_fill(~neg_mask[..., None], float("nan"))  # padding never reaches a result
    class_ids = torch.randint(0, 2, (batch,), generator=g) if with_classes else None

    got = damsm_word_loss(regions, words, mask, class_ids, form=form, negative_words=neg_words, negative_mask=neg_mask)
    _, loss1, scores, _ = reference_word_loss(regions, words.nan_to_num(), lengths, class_ids, form=form)
    negative = torch.stack([
        torch.stack([10.0 * reference_pair_score(regions[j], neg_words[j, k, : int(neg_lengths[j, k])], form=form)
                     for k in range(count)])
        for j in range(batch)
    ])
    loss0 = F.cross_entropy(torch.cat([scores, negative], dim=1), torch.arange(batch))
    torch.testing.assert_close(got.negative_scores, negative)
    torch.testing.assert_close(got.scores, scores)
    torch.testing.assert_close(got.loss0, loss0)
    torch.testing.assert_close(got.loss1, loss1)


@settings(max_examples=25, deadline=None)
@given(batch=st.integers(1, 5), count=st.integers(1, 3), seed=st.integers(0, 10_000), with_classes=st.booleans())
def test_sentence_loss_with_negatives_matches_reference(batch, count, seed, with_classes):
    g = torch.Generator().manual_seed(seed)
    codes = torch.randn(batch, 6, generator=g, dtype=torch.float64)
    sentence = torch.randn(batch, 6, generator=g, dtype=torch.float64)
    negatives = torch.randn(batch, count, 6, generator=g, dtype=torch.float64)
    class_ids = torch.randint(0, 2, (batch,), generator=g) if with_classes else None
    got = damsm_sentence_loss(codes, sentence, class_ids, negatives=negatives)
    _, loss1, scores = reference_sentence_loss(codes, sentence, class_ids)
    negative = torch.stack([torch.stack([10.0 * _cos(codes[j], negatives[j, k]) for k in range(count)])
                            for j in range(batch)])
    torch.testing.assert_close(got.negative_scores, negative)
    torch.testing.assert_close(got.loss0, F.cross_entropy(torch.cat([scores, negative], 1), torch.arange(batch)))
    torch.testing.assert_close(got.loss1, loss1)


def test_negatives_that_repeat_batch_captions_score_like_the_batch_grid():
    regions, words, mask = _inputs(4, 5, [5, 2, 3, 1])
    base = damsm_word_loss(regions, words, mask)
    # image j's negatives: its own caption and the caption of image j+1
    neg_words = torch.stack([words, words.roll(-1, 0)], dim=1)
    neg_mask = torch.stack([mask, mask.roll(-1, 0)], dim=1)
    got = damsm_word_loss(regions, words, mask, negative_words=neg_words, negative_mask=neg_mask)
    rows = torch.arange(4)
    torch.testing.assert_close(got.negative_scores[:, 0], base.scores.diagonal())
    torch.testing.assert_close(got.negative_scores[:, 1], base.scores[rows, (rows + 1) % 4])
    assert got.loss0 > base.loss0  # more wrong answers to beat
    torch.testing.assert_close(got.loss1, base.loss1)


def test_switched_off_is_exactly_the_official_loss():
    regions, words, mask = _inputs(5, 6, [6, 3, 1, 4, 2], seed=3)
    class_ids = torch.tensor([0, 1, 0, 2, 1])
    for kwargs in ({}, {"negative_words": None, "negative_mask": None}):
        w = damsm_word_loss(regions, words, mask, class_ids, **kwargs)
        loss0, loss1, scores, attention = reference_word_loss(regions, words, _mask([6, 3, 1, 4, 2], 6).sum(1), class_ids)
        assert w.negative_scores is None
        torch.testing.assert_close(w.loss0, loss0)
        torch.testing.assert_close(w.loss1, loss1)
        torch.testing.assert_close(w.scores, scores)
        torch.testing.assert_close(w.attention, attention)
    codes, sentence = regions.flatten(1)[:, :6], words[:, 0]
    s = damsm_sentence_loss(codes, sentence, class_ids, negatives=None)
    r = reference_sentence_loss(codes, sentence, class_ids)
    assert s.negative_scores is None
    torch.testing.assert_close((s.loss0, s.loss1, s.scores), r)


def test_negatives_get_gradients_and_padding_does_not():
    regions, words, mask = _inputs(3, 4, [4, 2, 1])
    neg_words = torch.randn(3, 2, 4, 6, dtype=torch.float64, requires_grad=True)
    neg_mask = torch.arange(4) < torch.tensor([[4, 1], [2, 3], [1, 1]])[..., None]
    damsm_word_loss(regions, words, mask, negative_words=neg_words, negative_mask=neg_mask).loss.backward()
    assert neg_words.grad[neg_mask].abs().sum() > 0
    assert neg_words.grad[~neg_mask].abs().sum() == 0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"negative_words": torch.zeros(3, 2, 4, 6, dtype=torch.float64)}, "negative_mask"),
        ({"negative_mask": torch.ones(3, 2, 4, dtype=torch.bool)}, "negative_words"),
        ({"negative_words": torch.zeros(2, 2, 4, 6, dtype=torch.float64),
          "negative_mask": torch.ones(2, 2, 4, dtype=torch.bool)}, "negative_words"),
        ({"negative_words": torch.zeros(3, 2, 4, 5, dtype=torch.float64),
          "negative_mask": torch.ones(3, 2, 4, dtype=torch.bool)}, "negative_words"),
        ({"negative_words": torch.zeros(3, 2, 4, 6, dtype=torch.float64),
          "negative_mask": torch.ones(3, 2, 3, dtype=torch.bool)}, "negative_mask"),
        ({"negative_words": torch.zeros(3, 2, 4, 6, dtype=torch.float64),
          "negative_mask": torch.zeros(3, 2, 4, dtype=torch.bool)}, "negative_mask"),
    ],
)
def test_bad_negatives_name_the_argument(kwargs, message):
    regions, words, mask = _inputs(3, 4, [4, 2, 1])
    with pytest.raises((ValueError, TypeError), match=message):
        damsm_word_loss(regions, words, mask, **kwargs)


def test_bad_sentence_negatives_name_the_argument():
    with pytest.raises(ValueError, match="negatives"):
        damsm_sentence_loss(torch.randn(3, 6), torch.randn(3, 6), negatives=torch.randn(2, 1, 6))
    with pytest.raises(ValueError, match="negatives"):
        damsm_sentence_loss(torch.randn(3, 6), torch.randn(3, 6), negatives=torch.randn(3, 1, 5))
