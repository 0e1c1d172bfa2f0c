"""R-precision: the official per-sample loop (reference) and fusionblocks give the same hits for the same candidates."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks import mapping  # noqa: E402
from benchmarks.fast_rprecision import draw_mismatched_vectorised, encode_sentences, r_precision_pooled  # noqa: E402
from benchmarks.reference import RNN_ENCODER, r_precision_official  # noqa: E402
from benchmarks.reference.rprecision import draw_mismatched  # noqa: E402

VOCAB, NEF, CPI = 40, 16, 3


def _pool(n_images: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    rng = np.random.default_rng(seed)
    lens = rng.integers(1, 9, size=n_images * CPI)
    tokens = rng.integers(1, VOCAB, size=(n_images * CPI, 8))
    tokens[np.arange(8)[None, :] >= lens[:, None]] = 0
    class_ids = rng.integers(0, 5, size=n_images)
    return torch.as_tensor(tokens), torch.as_tensor(lens), class_ids


def _encoders() -> tuple[RNN_ENCODER, torch.nn.Module]:
    from fusionblocks.text import DAMSMTextEncoder

    ref = RNN_ENCODER(VOCAB, nhidden=NEF).eval()
    lib = DAMSMTextEncoder(VOCAB, hidden_dim=NEF, max_words=None).eval()
    mapping.load_text_encoder_from_reference(lib, ref)
    return ref, lib


def test_library_r_precision_hits_equal_reference_loop() -> None:
    from fusionblocks.metrics import r_precision

    n_images, samples = 60, 60
    tokens, lens, class_ids = _pool(n_images, 0)
    ref_enc, lib_enc = _encoders()
    rng = np.random.default_rng(1)
    true_caption = np.arange(samples) * CPI + rng.integers(0, CPI, size=samples)
    # Codes near their true caption's sentence vector, so that both hits and misses occur.
    sent = encode_sentences(lib_enc, tokens, lens)
    codes = sent[true_caption] + 0.6 * torch.randn(samples, NEF, generator=torch.Generator().manual_seed(2))
    result = r_precision(
        codes, sent, torch.as_tensor(true_caption), torch.as_tensor(class_ids),
        torch.as_tensor(np.repeat(class_ids, CPI)), num_candidates=20, folds=3, replacement=True,
        generator=torch.Generator().manual_seed(3),
    )  # fmt: skip
    candidates = result.candidates[:, 1:].numpy()
    hits = r_precision_official(codes, true_caption, tokens, lens, class_ids, ref_enc, CPI, candidates=candidates)
    assert 0 < hits.sum() < samples  # the comparison is informative
    np.testing.assert_array_equal(result.hits.numpy(), hits)
    pooled = r_precision_pooled(codes, true_caption, candidates, tokens, lens, lib_enc)
    np.testing.assert_array_equal(pooled, hits)


def test_mismatched_draws_avoid_the_sample_class() -> None:
    class_ids = np.array([0, 1, 1, 2, 0, 2, 1])
    own = np.array([1, 0, 2])
    draws = draw_mismatched_vectorised(np.random.default_rng(0), own, class_ids, CPI, count=50)
    assert draws.shape == (3, 50)
    assert (class_ids[draws // CPI] != own[:, None]).all()
    single = draw_mismatched(np.random.RandomState(0), class_ids, 1, CPI, count=50)
    assert (class_ids[single // CPI] != 1).all() and single.max() < len(class_ids) * CPI
