"""Inception Score: known answers and the formula."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from fusionblocks.metrics import inception_score


def test_uniform_predictions_score_one():
    result = inception_score(np.zeros((40, 1008)), splits=10)  # equal logits: uniform p(y|x)
    assert result.mean == pytest.approx(1.0, abs=1e-9) and result.std == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("classes", [2, 5, 10])
def test_confident_distinct_predictions_score_the_number_of_classes(classes):
    probs = np.tile(np.eye(classes), (4, 1))  # every split of `classes` rows holds each class once
    result = inception_score(probs, splits=4, from_logits=False)
    assert result.mean == pytest.approx(classes, rel=1e-6)
    assert inception_score(torch.eye(classes) * 1000.0, splits=1).mean == pytest.approx(classes, rel=1e-6)


def test_matches_the_formula_on_random_predictions():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((30, 7)) * 2
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    expected = []
    for chunk in (probs[:10], probs[10:20], probs[20:]):
        marginal = chunk.mean(0)
        expected.append(np.exp(np.mean([(p * np.log(p / marginal)).sum() for p in chunk])))
    result = inception_score(logits, splits=3)
    assert result.mean == pytest.approx(np.mean(expected), rel=1e-9)
    assert result.std == pytest.approx(np.std(expected), rel=1e-7)
    assert 1.0 <= result.mean <= 7.0


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="splits"):
        inception_score(np.zeros((4, 3)), splits=5)
    with pytest.raises(ValueError, match="values"):
        inception_score(np.full((4, 3), 0.5), splits=2, from_logits=False)
    with pytest.raises(ValueError, match="values"):
        inception_score(np.zeros(3))


@given(st.integers(0, 10_000), st.integers(2, 12), st.integers(1, 4))
def test_score_lies_between_one_and_the_number_of_classes(seed, classes, splits):
    logits = np.random.default_rng(seed).standard_normal((4 * splits, classes)) * 3
    result = inception_score(logits, splits=splits)
    assert 1.0 - 1e-9 <= result.mean <= classes + 1e-9
    # permuting the classes changes nothing
    permuted = inception_score(logits[:, ::-1], splits=splits)
    assert permuted.mean == pytest.approx(result.mean, rel=1e-12)
