"""The shared argument checks: every error names the argument and states what was expected and received."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from fusionblocks._checks import (
    check_image_features,
    check_mask,
    check_positive_int,
    check_same_batch,
    check_sentence,
    check_tensor,
    check_words,
    lengths_to_mask,
)


def test_check_tensor() -> None:
    t = torch.zeros(2, 3)
    assert check_tensor(t, "t", ndim=2) is t
    with pytest.raises(TypeError, match=r"^t: expected a torch.Tensor, got list$"):
        check_tensor([1.0], "t")
    with pytest.raises(ValueError, match=r"^t: expected a 3-D tensor, got shape \(2, 3\) \(2-D\)$"):
        check_tensor(t, "t", ndim=3)
    with pytest.raises(TypeError, match=r"^t: expected a floating-point tensor, got dtype torch.int64$"):
        check_tensor(t.long(), "t")
    assert check_tensor(t.long(), "t", floating=False).dtype == torch.int64


def test_check_image_features() -> None:
    x = torch.zeros(2, 4, 3, 3)
    assert check_image_features(x, "x", 4) is x
    assert check_image_features(x, "x") is x
    with pytest.raises(ValueError, match=r"^feat: expected 5 channels \(B, 5, H, W\), got shape \(2, 4, 3, 3\)$"):
        check_image_features(x, "feat", 5)
    with pytest.raises(ValueError, match=r"^feat: expected a 4-D tensor"):
        check_image_features(x[0], "feat", 4)


def test_check_words() -> None:
    w = torch.zeros(2, 5, 7)
    assert check_words(w, "words", 7) is w
    with pytest.raises(ValueError, match=r"^words: expected word features \(B, T, 8\), got shape \(2, 5, 7\)$"):
        check_words(w, "words", 8)
    with pytest.raises(ValueError, match=r"^words: expected at least one word position"):
        check_words(torch.zeros(2, 0, 7), "words", 7)


def test_check_sentence() -> None:
    s = torch.zeros(2, 6)
    assert check_sentence(s, "sentence", 6) is s
    with pytest.raises(ValueError, match=r"^sentence: expected sentence features \(B, 4\), got shape \(2, 6\)$"):
        check_sentence(s, "sentence", 4)
    with pytest.raises(ValueError, match=r"^sentence: expected a 2-D tensor"):
        check_sentence(s[0], "sentence")


def test_check_mask() -> None:
    mask = torch.tensor([[True, True, False], [True, False, False]])
    assert check_mask(mask, "mask", 2, 3) is mask
    with pytest.raises(TypeError, match=r"^mask: expected a bool torch.Tensor \(B, T\), got list$"):
        check_mask(mask.tolist(), "mask", 2, 3)
    with pytest.raises(TypeError, match=r"^mask: expected dtype torch.bool \(True = real token\), got torch.uint8$"):
        check_mask(mask.to(torch.uint8), "mask", 2, 3)
    with pytest.raises(ValueError, match=r"^mask: expected shape \(2, 4\) to match the words, got \(2, 3\)$"):
        check_mask(mask, "mask", 2, 4)
    with pytest.raises(ValueError, match=r"^mask: expected shape \(3, 3\)"):
        check_mask(mask, "mask", 3, 3)
    with pytest.raises(ValueError, match=r"^mask: expected shape \(2, 3\)"):
        check_mask(mask[None], "mask", 2, 3)


def test_check_mask_rows_without_a_real_token() -> None:
    mask = torch.tensor([[True, False], [False, False], [True, True], [False, False]])
    with pytest.raises(ValueError, match=r"^mask: caption\(s\) at batch index \[1, 3\] have no real token"):
        check_mask(mask, "mask", 4, 2)
    assert check_mask(mask, "mask", 4, 2, require_real_token=False) is mask


def test_check_same_batch() -> None:
    a, b = torch.zeros(3, 1), torch.zeros(3, 2, 2)
    assert check_same_batch(a=a, b=b, c=None) == 3
    assert check_same_batch() == 0
    with pytest.raises(ValueError, match=r"^words: batch size mismatch \(x=3, words=2\); all inputs must share dim 0$"):
        check_same_batch(x=a, words=torch.zeros(2, 4))


@pytest.mark.parametrize("bad", [0, -3, 2.0, True, "4", None])
def test_check_positive_int_rejects(bad: object) -> None:
    with pytest.raises(ValueError, match=r"^width: expected a positive integer, got "):
        check_positive_int(bad, "width")


def test_check_positive_int_accepts() -> None:
    assert check_positive_int(5, "width") == 5


@given(st.lists(st.integers(0, 9), min_size=1, max_size=6), st.integers(0, 3))
def test_lengths_to_mask_matches_reference(lengths: list[int], extra: int) -> None:
    longest = max(lengths)
    mask = lengths_to_mask(torch.tensor(lengths))
    assert mask.dtype == torch.bool and mask.shape == (len(lengths), longest)
    for row, n in zip(mask.tolist(), lengths):
        assert row == [True] * n + [False] * (longest - n)
    padded = lengths_to_mask(lengths, max_len=longest + extra)
    assert padded.shape == (len(lengths), longest + extra)
    assert padded.sum(dim=1).tolist() == lengths


def test_lengths_to_mask_rejects_non_vector() -> None:
    with pytest.raises(ValueError, match=r"^lengths: expected a 1-D tensor \(B,\), got shape \(2, 2\)$"):
        lengths_to_mask(torch.ones(2, 2, dtype=torch.long))


def test_check_images_names_the_argument_and_the_size() -> None:
    import pytest
    import torch

    from fusionblocks._checks import check_images

    assert check_images(torch.zeros(2, 3, 8, 8), "images", 8).shape == (2, 3, 8, 8)
    with pytest.raises(ValueError, match=r"images: expected 8x8 images"):
        check_images(torch.zeros(2, 3, 16, 16), "images", 8)
    with pytest.raises(ValueError, match=r"images: expected 3 channels"):
        check_images(torch.zeros(2, 1, 8, 8), "images", 8)
