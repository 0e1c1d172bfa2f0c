"""R-precision (docs/ffgan.md "R-precision" with the fixes of docs/ffgan.md "Where the official code and the paper
differ")."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from fusionblocks.metrics.r_precision import (
    RPrecisionResult,
    r_precision,
    r_precision_from_encoders,
    sample_mismatched_captions,
)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_perfect_encoder_scores_one():
    codes = torch.randn(230, 16, generator=_gen(0))
    out = r_precision(codes, codes.clone(), torch.arange(230), generator=_gen(1))
    assert isinstance(out, RPrecisionResult)
    assert out.mean == 1.0 and out.std == 0.0 and bool(out.hits.all())


def test_ties_go_to_the_true_caption():
    codes = torch.ones(120, 4)  # every candidate has the same cosine
    assert r_precision(codes, codes, torch.arange(120), generator=_gen(0)).mean == 1.0


def test_random_codes_score_about_one_in_num_candidates():
    n = 3000
    out = r_precision(torch.randn(n, 32, generator=_gen(2)), torch.randn(n, 32, generator=_gen(3)), torch.arange(n),
                      generator=_gen(4))
    binomial_std = math.sqrt(0.01 * 0.99 / n)
    assert abs(out.mean - 0.01) < 4 * binomial_std
    out10 = r_precision(torch.randn(n, 32, generator=_gen(5)), torch.randn(n, 32, generator=_gen(6)), torch.arange(n),
                        num_candidates=10, generator=_gen(7))
    assert abs(out10.mean - 0.1) < 4 * math.sqrt(0.1 * 0.9 / n)


def test_hits_match_a_per_sample_loop_over_the_candidates():
    n, m = 150, 400
    images, captions = torch.randn(n, 8, generator=_gen(8)), torch.randn(m, 8, generator=_gen(9))
    true = torch.randint(0, m, (n,), generator=_gen(10))
    out = r_precision(images, captions, true, num_candidates=20, folds=7, generator=_gen(11), chunk_size=16)
    assert torch.equal(out.candidates[:, 0], true)
    for i in range(n):
        sims = F.cosine_similarity(images[i][None], captions[out.candidates[i]], dim=1)
        assert bool(out.hits[i]) == (int(sims.argmax()) == 0)
    assert 0 < int(out.hits.sum()) < n


@pytest.mark.parametrize(("n", "folds"), [(103, 10), (57, 4), (10, 10), (11, 1)])
def test_folds_cover_every_sample_exactly_once(n, folds):
    codes = torch.randn(n, 8, generator=_gen(12))
    images = codes.clone()
    images[::3] = torch.randn(len(range(0, n, 3)), 8, generator=_gen(13))  # some misses
    out = r_precision(images, codes, torch.arange(n), num_candidates=5, folds=folds, generator=_gen(14))
    sizes = torch.bincount(out.fold_index, minlength=folds)
    assert out.fold_index.shape == (n,) and int(sizes.sum()) == n
    assert int(sizes.max() - sizes.min()) <= 1 and len(sizes) == folds
    for fold in range(folds):
        expected = out.hits[out.fold_index == fold].double().mean()
        torch.testing.assert_close(out.fold_means[fold], expected)
    assert out.mean == pytest.approx(float(out.fold_means.mean()))
    assert out.std == pytest.approx(float(out.fold_means.double().std(unbiased=False)), abs=1e-12)


@pytest.mark.parametrize("replacement", [False, True])
def test_mismatches_never_share_the_image_class(replacement):
    n_img, m = 200, 600
    caption_cls = torch.randint(0, 7, (m,), generator=_gen(15))
    true = torch.randint(0, m, (n_img,), generator=_gen(16))
    image_cls = caption_cls[true]
    mis = sample_mismatched_captions(true, m, 99, image_cls, caption_cls, replacement=replacement, generator=_gen(17))
    assert mis.shape == (n_img, 99) and int(mis.min()) >= 0 and int(mis.max()) < m
    assert not bool((caption_cls[mis] == image_cls[:, None]).any())
    if not replacement:
        assert all(len(set(row.tolist())) == 99 for row in mis)


def test_without_classes_the_true_caption_is_never_a_mismatch():
    true = torch.randperm(300, generator=_gen(18))[:250]
    mis = sample_mismatched_captions(true, 300, 99, generator=_gen(19))
    assert not bool((mis == true[:, None]).any())
    assert all(len(set(row.tolist())) == 99 for row in mis)


def test_mismatch_sampling_is_uniform_over_eligible_captions():
    # 3000 images of class 0; captions: 5 of class 0 (never eligible) then 15 of other classes.
    caption_cls = torch.tensor([0] * 5 + [1, 2, 3] * 5)
    image_cls = torch.zeros(3000, dtype=torch.long)
    true = torch.zeros(3000, dtype=torch.long)
    for replacement in (False, True):
        mis = sample_mismatched_captions(true, 20, 6, image_cls, caption_cls, replacement=replacement,
                                         generator=_gen(20))
        counts = torch.bincount(mis.flatten(), minlength=20).double()
        assert counts[:5].sum() == 0
        expected = 3000 * 6 / 15
        chi2 = float(((counts[5:] - expected) ** 2 / expected).sum())
        assert chi2 < 45.0  # 14 degrees of freedom: p < 1e-4 beyond this


def test_deterministic_with_a_seeded_generator():
    images, captions = torch.randn(80, 8, generator=_gen(21)), torch.randn(90, 8, generator=_gen(22))
    true = torch.arange(80)
    cls = torch.arange(90) % 9
    a = r_precision(images, captions, true, cls[:80], cls, num_candidates=50, folds=4, generator=_gen(5))
    b = r_precision(images, captions, true, cls[:80], cls, num_candidates=50, folds=4, generator=_gen(5))
    c = r_precision(images, captions, true, cls[:80], cls, num_candidates=50, folds=4, generator=_gen(6))
    assert torch.equal(a.candidates, b.candidates) and torch.equal(a.fold_index, b.fold_index)
    assert torch.equal(a.fold_means, b.fold_means)
    assert not torch.equal(a.candidates, c.candidates)


def test_too_few_eligible_mismatches_is_a_clear_error():
    caption_cls = torch.tensor([0] * 50 + [1] * 60)
    image_cls = torch.tensor([0, 1])
    with pytest.raises(ValueError, match="num_mismatches.*eligible"):
        sample_mismatched_captions(torch.tensor([0, 60]), 110, 55, image_cls, caption_cls)
    codes = torch.randn(40, 4)
    with pytest.raises(ValueError, match="num_mismatches"):
        r_precision(codes, codes, torch.arange(40))  # 39 others < 99


def test_with_replacement_few_eligible_captions_are_enough():
    caption_cls = torch.tensor([0] * 50 + [1] * 3)  # class-0 images have only 3 eligible mismatches
    image_cls, true = torch.tensor([0, 1]), torch.tensor([0, 50])
    mis = sample_mismatched_captions(true, 53, 99, image_cls, caption_cls, replacement=True, generator=_gen(3))
    assert mis.shape == (2, 99)
    assert set(mis[0].tolist()) == {50, 51, 52}  # 99 draws from 3 captions: each is drawn
    assert not bool((caption_cls[mis] == image_cls[:, None]).any())
    out = r_precision(torch.randn(2, 4), torch.randn(53, 4), true, image_cls, caption_cls, replacement=True, folds=2)
    assert out.candidates.shape == (2, 100)
    with pytest.raises(ValueError, match="replacement=True"):  # the error says what would work
        sample_mismatched_captions(true, 53, 99, image_cls, caption_cls)
    with pytest.raises(ValueError, match="have only 0 eligible"):  # a class that owns every caption
        sample_mismatched_captions(torch.tensor([0]), 3, 5, torch.tensor([0]), torch.zeros(3, dtype=torch.long),
                                   replacement=True)


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        (dict(caption_codes=torch.randn(30, 5)), ValueError, "caption_codes"),
        (dict(true_caption_index=torch.arange(19)), ValueError, "true_caption_index"),
        (dict(true_caption_index=torch.arange(20) + 20), ValueError, "true_caption_index"),
        (dict(true_caption_index=torch.arange(20).float()), TypeError, "true_caption_index"),
        (dict(image_class_ids=torch.zeros(20, dtype=torch.long)), ValueError, "caption_class_ids"),
        (dict(folds=21), ValueError, "folds"),
        (dict(num_candidates=1), ValueError, "num_candidates"),
        (dict(image_class_ids=torch.zeros(20, dtype=torch.long), caption_class_ids=torch.arange(30)), ValueError,
         "caption_class_ids"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, error, name):
    args = dict(image_codes=torch.randn(20, 4), caption_codes=torch.randn(30, 4), true_caption_index=torch.arange(20),
                num_candidates=10, folds=5) | kwargs
    with pytest.raises(error, match=name):
        r_precision(**args)


class _Features:
    def __init__(self, sentence):
        self.sentence = sentence


class _CountingTextEncoder(nn.Module):
    """Sentence code = a fixed function of the caption; counts its calls."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(1, 6)
        self.calls = 0
        self.grad_enabled = []

    def forward(self, captions, lengths=None):
        self.calls += 1
        self.grad_enabled.append(torch.is_grad_enabled())
        if isinstance(captions, torch.Tensor):
            index = captions[:, 0].float()
        else:
            index = torch.tensor([float(c.split()[-1]) for c in captions])
        return _Features(torch.sin(index[:, None] * torch.arange(1.0, 7.0)))


class _ImageEncoder(nn.Module):
    """Image code = the same function of the index written in pixel (0, 0, 0)."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))
        self.calls = 0

    def forward(self, images):
        self.calls += 1
        index = images[:, 0, 0, 0]
        return images[:, :, :2, :2], self.scale * torch.sin(index[:, None] * torch.arange(1.0, 7.0))


@pytest.mark.parametrize("as_ids", [False, True])
def test_from_encoders_encodes_each_caption_once_in_batches(as_ids):
    n = 130
    images = torch.zeros(n, 3, 4, 4)
    images[:, 0, 0, 0] = torch.arange(n).float()
    captions = torch.arange(n)[:, None].repeat(1, 3) if as_ids else [f"caption number {i}" for i in range(n)]
    text, image = _CountingTextEncoder().train(), _ImageEncoder()
    out = r_precision_from_encoders(
        images, captions, text, image, caption_lengths=torch.full((n,), 3) if as_ids else None,
        generator=_gen(23), batch_size=32,
    )
    assert out.mean == 1.0
    assert text.calls == math.ceil(n / 32) and image.calls == math.ceil(n / 32)  # not n * 99
    assert not any(text.grad_enabled)
    assert text.training  # mode restored


def test_from_encoders_needs_the_true_index_when_counts_differ():
    with pytest.raises(ValueError, match="true_caption_index"):
        r_precision_from_encoders(torch.zeros(3, 3, 4, 4), ["a 1", "b 2"], _CountingTextEncoder(), _ImageEncoder())
