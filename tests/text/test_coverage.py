"""Vocabulary coverage: unknown words are counted, a bad fit is an error saying what to do, sampling warns."""

from __future__ import annotations

import pytest
import torch

from fusionblocks.text import (
    DAMSMTextEncoder,
    Vocabulary,
    VocabularyCoverageError,
    check_vocabulary_coverage,
    vocabulary_coverage,
    warn_unknown_words,
)

VOCAB = Vocabulary(["a", "red", "blue", "circle", "square"])


def test_coverage_counts_unknown_tokens_and_collapsed_captions():
    cov = vocabulary_coverage(VOCAB, ["a red circle", "a photo of a cat", "cat photo"])
    assert (cov.num_captions, cov.num_tokens) == (3, 10)
    assert cov.num_unknown == 5 and cov.unknown_fraction == pytest.approx(0.5)
    assert list(cov.unknown_words.items()) == [("photo", 2), ("cat", 2), ("of", 1)]  # most frequent first
    assert cov.collapsed_captions == 1


def test_check_raises_over_the_threshold_naming_words_and_the_fix():
    check_vocabulary_coverage(VOCAB, ["a red circle", "a blue square", "a red cat"])  # 1 of 9 unknown: fine
    with pytest.raises(VocabularyCoverageError, match=r"50% .*'photo'.*fusionblocks vocab build"):
        check_vocabulary_coverage(VOCAB, ["a red circle", "a photo of a cat", "cat photo"])
    with pytest.raises(VocabularyCoverageError):
        check_vocabulary_coverage(VOCAB, ["a red circle", "a cat"], max_unknown=0.1)
    assert issubclass(VocabularyCoverageError, ValueError)


def test_warn_unknown_words_names_them():
    with pytest.warns(UserWarning, match="3 word\\(s\\) .*dropped: 'photo', 'of', 'cat'"):
        assert warn_unknown_words(VOCAB, ["a photo of a red cat"]) == ["photo", "of", "cat"]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert warn_unknown_words(VOCAB, ["a red circle"]) == []
        assert warn_unknown_words(None, ["anything goes"]) == []


def test_generate_warns_about_dropped_words():
    from fusionblocks.ffgan import build_ffgan
    from fusionblocks.train.sampling import generate

    gan = build_ffgan("tiny64", model={"ngf": 4, "ndf": 4, "image_size": 16, "z_dim": 8, "cond_dim": 8},
                      text={"embedding_dim": 8, "hidden_dim": 16}, image={"encoder": None})
    with pytest.warns(UserWarning, match="'zebra'"):
        out = generate(gan.generator, gan.text_encoder, ["a red zebra circle"], return_attention=False)
    assert out.images[-1].shape == (1, 3, 16, 16)


def test_encoder_class_declares_whether_it_uses_a_vocabulary():
    from fusionblocks.text import CLIPTextEncoder

    assert DAMSMTextEncoder.uses_vocabulary is True
    assert CLIPTextEncoder.uses_vocabulary is False
    assert torch.is_tensor(DAMSMTextEncoder(vocabulary=VOCAB, hidden_dim=8, embedding_dim=4)(["a red circle"]).words)
